// GraphQL request bodies are bounded (25 MB, Yoga's own default). Yoga's built-in bound pipes every
// body through a counting TransformStream: a stream pipeline, an abort signal and a second Request
// per request, about 4 % of a createModelVersion's time on the server in the #18 profile. A body
// that declares its length needs none of that: Node's HTTP parser never delivers more bytes than
// Content-Length says, so checking the header is the whole check. Only bodies without one
// (chunked transfer encoding) are counted as they arrive.
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";

export const MAX_GRAPHQL_BODY_BYTES = 25_000_000;

const DIGITS = /^\d+$/;

const tooLarge = () =>
  new GraphQLError("Request body too large", {
    extensions: { code: "PAYLOAD_TOO_LARGE", http: { status: 413 } },
  });

type FetchApi = { Request: typeof Request; TransformStream: typeof TransformStream };

/** The request with a body that errors once more than `limit` bytes have come through. */
function counted(request: Request, limit: number, fetchApi: FetchApi): Request {
  const body = request.body;
  if (body === null) return request;
  // A native stream must be piped through a native TransformStream, a ponyfill one through its own.
  const Transform = body instanceof ReadableStream ? globalThis.TransformStream : fetchApi.TransformStream;
  let bytes = 0;
  const limited = body.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        if (bytes > limit) controller.error(tooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
  return new fetchApi.Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body: limited,
    duplex: "half",
  } as RequestInit);
}

/** Yoga's `maxRequestBodySize` must be false where this plugin is used; it goes after the request parsers. */
export function bodySizeLimitPlugin(limit = MAX_GRAPHQL_BODY_BYTES): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const declared = request.headers.get("content-length");
      if (declared !== null) {
        if (!DIGITS.test(declared))
          throw new GraphQLError("Content-Length header is invalid.", {
            extensions: { code: "BAD_REQUEST", http: { status: 400 } },
          });
        if (Number(declared) > limit) throw tooLarge();
        return;
      }
      if (requestParser == null || request.body == null) return;
      const parse = requestParser;
      setRequestParser((req) => parse(counted(req, limit, fetchAPI)));
    },
  };
}
