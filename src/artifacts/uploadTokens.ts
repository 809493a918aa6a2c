// What a GraphQL `Upload` variable holds once the multipart parser has streamed the file into the
// blob store: a token naming the stored blob, signed with a key that never leaves this process. A
// client cannot forge one to claim bytes it did not send, and tokens expire, so replay is pointless.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export type UploadedFile =
  | {
      readonly kind: "stored";
      readonly sha256: string;
      readonly size: number;
      readonly mediaType: string;
      readonly filename: string;
    }
  /** The client announced a sha256 for the part and the bytes did not match it: nothing was stored. */
  | { readonly kind: "digestMismatch"; readonly expected: string; readonly actual: string }
  /** The caller may not write to the model the part is for (null: to any model): nothing was stored. */
  | { readonly kind: "withheld"; readonly modelName: string | null };

const KEY = randomBytes(32);
const TOKEN_TTL_MS = 60 * 60 * 1000;
const PREFIX = "registro-upload:";

const sign = (payload: string) => createHmac("sha256", KEY).update(payload).digest("base64url");

export function uploadToken(file: UploadedFile, now = Date.now()): string {
  const payload = Buffer.from(JSON.stringify({ ...file, exp: now + TOKEN_TTL_MS })).toString("base64url");
  return `${PREFIX}${payload}.${sign(payload)}`;
}

/** The upload a token names, or null when it is not a token this process issued (or it expired). */
export function readUploadToken(value: unknown, now = Date.now()): UploadedFile | null {
  if (typeof value !== "string" || !value.startsWith(PREFIX)) return null;
  const [payload, signature] = value.slice(PREFIX.length).split(".");
  if (payload === undefined || signature === undefined) return null;
  const expected = Buffer.from(sign(payload));
  const actual = Buffer.from(signature);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  const { exp, ...file } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as UploadedFile & {
    exp: number;
  };
  return exp >= now ? file : null;
}
