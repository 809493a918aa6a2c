// What a GraphQL `Upload` variable holds once the multipart parser has streamed the file into the
// blob store: a token naming the stored blob, signed with a key that never leaves this process. A
// client cannot forge one to claim bytes it did not send. A token names the multipart request that
// issued it and counts only in that request's operation: one copied out of a response (a client
// can have it placed in any variable, a model's params say) cannot be replayed in another request,
// nor in a plain JSON one, which the multipart request's CSRF rule does not guard.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";

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

/** An `Upload` variable's value: the file, and the multipart request whose part it was. */
export type UploadValue = UploadedFile & { readonly request: string };

/** Per HTTP request (its IncomingMessage): the id its multipart upload issued tokens under. */
const uploadRequests = new WeakMap<object, string>();

/** A new id for the tokens of one multipart request, remembered with the request. */
export function uploadRequestOf(req: object): string {
  const request = randomUUID();
  uploadRequests.set(req, request);
  return request;
}

/** The id a request's multipart upload issued its tokens under; undefined for any other request. */
export const issuedUploadsOf = (req: object | undefined): string | undefined =>
  req === undefined ? undefined : uploadRequests.get(req);

export function uploadToken(file: UploadedFile, request: string, now = Date.now()): string {
  const payload = Buffer.from(JSON.stringify({ ...file, request, exp: now + TOKEN_TTL_MS })).toString(
    "base64url",
  );
  return `${PREFIX}${payload}.${sign(payload)}`;
}

/** The upload a token names, or null when it is not a token this process issued (or it expired). */
export function readUploadToken(value: unknown, now = Date.now()): UploadValue | null {
  if (typeof value !== "string" || !value.startsWith(PREFIX)) return null;
  const [payload, signature] = value.slice(PREFIX.length).split(".");
  if (payload === undefined || signature === undefined) return null;
  const expected = Buffer.from(sign(payload));
  const actual = Buffer.from(signature);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  const { exp, ...file } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as UploadValue & {
    exp: number;
  };
  return exp >= now ? file : null;
}
