// The one list of error codes a client can receive: `extensions.code` on GraphQL errors,
// `error.code` on plain HTTP routes, and `code` on the typed errors of mutation results. Clients
// branch on these, never on messages. docs/errors.md documents each one; a test keeps the source,
// this list and that page in step, so a new code cannot ship undocumented.

export const ERROR_CODES = {
  // The request itself
  BAD_REQUEST: "The request is malformed: invalid JSON, no `query`, a bad `variables` or `extensions` value.",
  UNAUTHENTICATED:
    "Credentials are missing (AUTH=required) or not accepted (unknown, revoked or expired token; invalid SSO access token; not `Bearer <token>`); see `WWW-Authenticate`. WebSockets close with 4401; running subscriptions end with it and a resume cursor.",
  CSRF_HEADER_REQUIRED:
    "A request a browser could send from another site without asking first (GET, form, multipart or text body) lacks a preflight-forcing header: send `x-registro-csrf: 1`.",
  CORS_ORIGIN_NOT_ALLOWED:
    "A browser preflight or WebSocket from an origin that is neither the registry's own nor listed in CORS_ORIGINS.",
  HOST_NOT_ALLOWED:
    "The request's Host (or X-Forwarded-Host) is not one this registry answers for: under AUTH=local only loopback names and ALLOWED_HOSTS (a defence against DNS rebinding); under AUTH=required hosts outside ALLOWED_HOSTS when it is set.",
  METHOD_NOT_ALLOWED: "The path exists but not for this HTTP method (see the `Allow` header).",
  NOT_FOUND:
    "No route for this path, or the named model, version, alias, tag, artifact, principal, team or token does not exist.",
  NOT_ACCEPTABLE:
    "None of the media types in `Accept` can be produced (see the `Accept` header of the answer).",
  UNSUPPORTED_MEDIA_TYPE:
    "The request body's Content-Type is not one the endpoint reads (GraphQL: application/json or multipart/form-data).",
  PAYLOAD_TOO_LARGE: "The GraphQL request body is larger than the server accepts.",
  REQUEST_TIMEOUT:
    "The request body stopped arriving, or arrived slower than the minimum rate (`reason`: idle or rate); the connection is closed.",
  TOO_MANY_UPLOADS:
    "Too many uploads in progress for this client or for the server (`scope`, `limit`); retry after `Retry-After` seconds.",
  RATE_LIMITED:
    "The client (its principal, or its address under AUTH=local) has spent its rate limit: a request costs 1 unit and each object returned 1 more (GraphQL lists, MLflow answers, audit exports), out of RATE_LIMIT_BURST regained at RATE_LIMIT_PER_SECOND; a query that empties it stops there. Also credentials from an address past its failed authentications (AUTH_FAILURE_BURST, AUTH_FAILURES_PER_SECOND), refused unchecked. Retry after `Retry-After` seconds (`retryAfter`). Answered with 429, or on the WebSocket operation.",
  HEADERS_TOO_LARGE: "The request's headers are larger than the server accepts (16 KiB in all).",
  METRICS_ACCESS_DENIED:
    "/metrics refused: the caller's address is outside METRICS_ALLOWED_NETWORKS (loopback only when neither it nor METRICS_TOKEN is set), or the bearer token is not METRICS_TOKEN.",
  // GraphQL documents
  PERSISTED_QUERY_NOT_FOUND:
    "The request names a persisted document by its sha256 (automatic persisted queries) that this server does not hold: send the document along with the hash.",
  PERSISTED_QUERY_MISMATCH:
    "The `sha256Hash` of `extensions.persistedQuery` is not the sha256 of the document sent.",
  GRAPHQL_PARSE_FAILED: "The GraphQL document is not valid GraphQL syntax.",
  GRAPHQL_VALIDATION_FAILED: "The GraphQL document does not match the schema.",
  BAD_USER_INPUT: "A variable or argument has a value the schema or the field does not accept.",
  MAX_DEPTH_EXCEEDED: "The operation is nested deeper than the limit (`extensions.limit`).",
  MAX_ALIASES_EXCEEDED: "The operation uses more aliases than the limit (`extensions.limit`).",
  MAX_TOKENS_EXCEEDED: "The document has more tokens than the limit (`extensions.limit`).",
  MAX_ITEMS_EXCEEDED:
    "The operation could return more objects than the limit (`extensions.limit`): the `first` of nested connections multiply. Also when a path nests a list without pagination inside itself, and, without data, when its lists returned more items than the limit while it ran.",
  RESPONSE_TOO_LARGE:
    "The result would serialise to more JSON than the limit (`extensions.limit`, in characters), typically a list repeating a large object (a version's tags under each of its aliases): select fewer fields or smaller pages. A mutation's change was made all the same.",
  // Subscriptions
  TOO_MANY_CONNECTIONS:
    "Too many subscription connections (WebSockets and SSE streams) open for this client address, this principal or the server, or WebSockets of this address waiting to authenticate (`scope`, `limit`): a WebSocket upgrade or SSE subscription is refused with 503, a WebSocket past its connection_init closed with 1013; retry after `Retry-After` seconds.",
  TOO_MANY_OPERATIONS:
    "A WebSocket connection already runs as many operations (subscriptions included) as it may (`extensions.limit`): complete one first.",
  INVALID_CURSOR:
    "A cursor was not issued by this registry (a resume cursor) or by this list (a page cursor), or points past the end of the log.",
  SUBSCRIBER_TOO_SLOW:
    "The subscriber fell too far behind and was dropped; resubscribe with `after: extensions.cursor`.",
  ACCESS_CHANGED:
    "A running subscription's caller may now read fewer models (its registry role or team memberships changed); it was ended: resubscribe with `after: extensions.cursor`.",
  // Domain rules (mutation results and artifact routes)
  VALIDATION: "An input breaks a rule of the registry (`field` names which input).",
  ALREADY_EXISTS: "A model or artifact path of that name already exists.",
  INVALID_STATE: "The model or version is not in a state that allows this (e.g. a deleted version).",
  CONCURRENCY_CONFLICT: "`expectedRevision` no longer matches: someone else changed the model first.",
  INTEGRITY_VIOLATION:
    "The model's stored history failed its integrity check (a broken hash chain, or events written outside Registro); writes to it are refused until an operator investigates.",
  PERMISSION_DENIED:
    "The caller may see the model but not do this (it needs EDIT or MANAGE on it, a registry role, or a token scope); `needed` says what would. Unreadable models answer NOT_FOUND.",
  APPROVAL_REQUIRED:
    "The stage or alias is protected by the model's review policy: open a review request (`requestReview`) and have it approved, or (an admin) give a `bypassReason`.",
  REVIEWER_NOT_ELIGIBLE:
    "The caller may not approve or reject this review request (`ineligibility`: SELF_APPROVAL, NOT_A_REVIEWER or ALREADY_REVIEWED).",
  UNSAFE_ARTIFACT:
    "Promotion or aliasing refused: artifacts are dangerous, unscannable or uninspected; give an `overrideReason`.",
  ACTIVE_DEPLOYMENT:
    "The version (or a version of the model) is still deployed (`environments` names where); retire those deployments first.",
  WEBHOOK_TARGET_REFUSED:
    "A webhook URL resolves to a private, loopback, link-local or otherwise internal address (or does not resolve) that WEBHOOK_ALLOWED_TARGETS does not allow.",
  // Artifact transfer
  DIGEST_MISMATCH: "The uploaded bytes do not match the sha256 the client announced; nothing was stored.",
  TOO_LARGE: "An artifact or upload request is larger than ARTIFACT_MAX_BYTES / ARTIFACT_MAX_REQUEST_BYTES.",
  RANGE_NOT_SATISFIABLE: "The requested byte range lies outside the artifact.",
  PRECONDITION_FAILED:
    "A download's If-Match or If-Unmodified-Since does not hold for the current artifact (it changed, or an alias or stage now names another version); or an upload's If-Match where the path has no artifact, or If-None-Match where it has one.",
  BLOB_MISSING: "The artifact is recorded but its bytes are missing from storage; run `npm run verify`.",
  BLOB_CORRUPT:
    "The artifact's stored bytes no longer match its sha256 (or recorded size); nothing is served. Run `npm run verify`, then upload the identical file again to heal it.",
  BLOB_STORE_UNAVAILABLE:
    "The blob store (the bucket, or the artifact folder's disk) cannot be reached or refused the request; nothing was stored. Retry later.",
  // The server
  INTERNAL_SERVER_ERROR: "An unexpected failure; details are logged on the server, never sent.",
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === "string" && Object.hasOwn(ERROR_CODES, code);
