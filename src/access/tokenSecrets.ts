// API token secrets: `rgo_` + 32 random bytes in base64url. Only the sha256 is ever stored or
// logged; the secret is returned once, to whoever created the token.
import { hash, randomBytes } from "node:crypto";

export const TOKEN_PREFIX = "rgo_";
/** `rgo_` + 43 base64url characters (32 bytes). */
const TOKEN_PATTERN = /^rgo_[A-Za-z0-9_-]{43}$/;
/** Characters of the secret kept for display: enough to recognise a token, far too few to use it. */
const DISPLAY_PREFIX_LENGTH = TOKEN_PREFIX.length + 6;

export interface NewTokenSecret {
  readonly secret: string;
  readonly hash: string;
  readonly prefix: string;
}

export const hashToken = (secret: string): string => hash("sha256", secret, "hex");

export const looksLikeToken = (secret: string): boolean => TOKEN_PATTERN.test(secret);

export function newTokenSecret(): NewTokenSecret {
  const secret = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  return { secret, hash: hashToken(secret), prefix: secret.slice(0, DISPLAY_PREFIX_LENGTH) };
}
