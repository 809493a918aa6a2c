// Standard Webhooks signatures (https://www.standardwebhooks.com): the signed content is
// `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 keyed with the base64-decoded secret
// after `whsec_`, sent as `webhook-signature: v1,<base64>`. Receivers verify with any library of
// the specification (e.g. the `standardwebhooks` npm package).
import { createHmac, randomBytes } from "node:crypto";
import { ValidationError } from "../domain/errors.ts";

export const SECRET_PREFIX = "whsec_";
/** `whsec_` + base64 of 24 to 64 bytes (the specification recommends 24 to 64). */
const SECRET_PATTERN = /^whsec_([A-Za-z0-9+/]{32,88}={0,2})$/;

/** A new secret: 32 random bytes. */
export const newWebhookSecret = (): string => SECRET_PREFIX + randomBytes(32).toString("base64");

/** A client-supplied secret, or why it is refused. */
export function checkWebhookSecret(field: string, secret: string): ValidationError | null {
  const match = SECRET_PATTERN.exec(secret);
  const bytes = match?.[1] === undefined ? null : Buffer.from(match[1], "base64");
  if (bytes === null || bytes.length < 24 || bytes.length > 64 || bytes.toString("base64") !== match?.[1])
    return new ValidationError(field, "must be `whsec_` followed by the base64 of 24 to 64 random bytes");
  return null;
}

export interface SignedHeaders {
  readonly "webhook-id": string;
  readonly "webhook-timestamp": string;
  readonly "webhook-signature": string;
}

/** The three Standard Webhooks headers of one message. */
export function signMessage(secret: string, messageId: string, timestamp: Date, body: string): SignedHeaders {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
  const seconds = Math.floor(timestamp.getTime() / 1000).toString();
  const signature = createHmac("sha256", key).update(`${messageId}.${seconds}.${body}`).digest("base64");
  return {
    "webhook-id": messageId,
    "webhook-timestamp": seconds,
    "webhook-signature": `v1,${signature}`,
  };
}
