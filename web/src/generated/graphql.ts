/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** What kind of principal caused an event. */
export type ActorKind =
  /** Recorded before the registry authenticated callers: only a name is known. */
  | 'ANONYMOUS'
  /** A CI job or serving system, with an API token. */
  | 'SERVICE_ACCOUNT'
  /** The registry itself: the bootstrap command, or a user's first appearance through SSO or local mode. */
  | 'SYSTEM'
  /** A person (signed in with a token, single sign-on, or as the local administrator). */
  | 'USER';

/** The version and the comment. */
export type AddModelVersionCommentInput = {
  /** The comment (markdown, non-blank, at most 65,536 characters). */
  body: string;
  /** Model name. */
  name: string;
  /** Version number. */
  version: number;
};

/** What happened to an alias. */
export type AliasChangeKind =
  /** The alias was removed, explicitly or because the version it pointed at was deleted. */
  | 'DELETED'
  /** The alias moved from one version to another. */
  | 'MOVED'
  /** The alias was created, pointing at a version. */
  | 'SET';

/** The request and a comment. */
export type ApproveReviewRequestInput = {
  /** A comment (up to 5,000 characters). */
  comment?: string | null | undefined;
  /** The review request. */
  id: string | number;
};

/** File format of an artifact, recognised from its content (the file name only breaks ties). */
export type ArtifactFormat =
  /** Core ML `.mlmodel` (protobuf), or an `.mlpackage` zip. */
  | 'COREML'
  /** GGUF (llama.cpp) model file. */
  | 'GGUF'
  /** Hugging Face `tokenizer.json`. */
  | 'HF_TOKENIZER'
  /** joblib dump: a pickle with inline NumPy arrays, possibly zlib/gzip/bz2/xz/lzma/lz4-compressed. */
  | 'JOBLIB'
  /** Keras 3 `.keras` zip (`config.json`, `metadata.json`, `model.weights.h5`). */
  | 'KERAS'
  /** Keras model or weights in HDF5 (`.h5`, Keras 2 and Keras 3 `*.weights.h5`). */
  | 'KERAS_H5'
  /** MLeap bundle (zip with `bundle.json` and `root/`). */
  | 'MLEAP'
  /** NumPy `.npy` array (an object dtype embeds a pickle). */
  | 'NUMPY'
  /** ONNX `ModelProto` (protobuf). */
  | 'ONNX'
  /** Python pickle (protocol 0-5), e.g. a scikit-learn model saved with `pickle`. */
  | 'PICKLE'
  /** PMML XML document (Data Mining Group). */
  | 'PMML'
  /** `torch.save` checkpoint: the zip layout (PyTorch ≥ 1.6) or the legacy concatenated pickles. */
  | 'PYTORCH'
  /** safetensors: a JSON header and raw tensor bytes (no code). */
  | 'SAFETENSORS'
  /** TensorFlow frozen `GraphDef` (protobuf). */
  | 'TF_GRAPHDEF'
  /** TensorFlow SavedModel (`saved_model.pb`, alone or zipped with its variables). */
  | 'TF_SAVEDMODEL'
  /** TorchScript archive (`torch.jit.save`): a PyTorch zip with `code/` and `constants.pkl`. */
  | 'TORCHSCRIPT'
  /** Not recognised as a model format. */
  | 'UNKNOWN'
  /** Plain-text vocabulary or merges file (`vocab.txt`, `merges.txt`). */
  | 'VOCABULARY';

/** Whether an artifact's stored bytes are intact, as far as the blob store knows without reading them. Shared by every artifact with the same sha256. */
export type ArtifactIntegrity =
  /** The stored bytes no longer match the artifact's sha256 (a download or `npm run verify` found it, or the size differs). Downloads are refused (HTTP 500 BLOB_CORRUPT) until the identical file is uploaded again (PUT to `downloadUrl`) or verify finds the bytes sound. */
  | 'CORRUPT'
  /** No bytes are stored under the artifact's sha256 (HTTP 500 BLOB_MISSING). Upload the identical file again (PUT to `downloadUrl`) to restore them. */
  | 'MISSING'
  /** The bytes are stored with the recorded size and no check has found them damaged. Every download of the whole file re-hashes it, and `npm run verify` re-hashes everything. */
  | 'OK';

/** What an artifact is for. */
export type ArtifactRole =
  /** Configuration (e.g. config.json). */
  | 'CONFIG'
  /** Feature encoder or preprocessor. */
  | 'ENCODER'
  /** Model weights or graph (e.g. model.onnx, model.safetensors). */
  | 'MODEL'
  /** Anything else. */
  | 'OTHER'
  /** Tokenizer definition. */
  | 'TOKENIZER'
  /** Vocabulary or merges file. */
  | 'VOCABULARY';

/** Safety verdict of an artifact's latest inspection. An artifact never inspected has a null verdict, which gates like UNSCANNABLE (fail closed). */
export type ArtifactVerdict =
  /** Loading the file could run code (e.g. a pickle importing `os.system`). Blocks Production and aliases unless overridden. */
  | 'DANGEROUS'
  /** Every part of the file was examined and nothing risky was found. */
  | 'SAFE'
  /** Something unusual (e.g. a pickle import outside the allow-list): shown, does not block. */
  | 'SUSPICIOUS'
  /** The file could not be examined completely (truncated, unknown, too large, too slow): treated as unsafe. Blocks Production and aliases unless overridden. */
  | 'UNSCANNABLE';

/** The model and the alias. */
export type DeleteRegisteredModelAliasInput = {
  /** Alias to remove. */
  alias: string;
  /** Admins only: why this change to a stage or alias protected by the model's review policy is made without review (non-blank, up to 5,000 characters; recorded as ReviewPolicyBypassed). Without it such a change fails with ApprovalRequiredError. Ignored when the target is not protected. */
  bypassReason?: string | null | undefined;
  /** Fail with ConcurrencyError unless the model is at this revision. */
  expectedRevision?: number | null | undefined;
  /** Model name. */
  name: string;
};

/** The model and the tag key. */
export type DeleteRegisteredModelTagInput = {
  /** Fail with ConcurrencyError unless the model is at this revision. */
  expectedRevision?: number | null | undefined;
  /** Tag key to remove. */
  key: string;
  /** Model name. */
  name: string;
};

/** Every code a client can receive: `code` of the typed errors in mutation results, `extensions.code` of GraphQL errors, and `error.code` of the HTTP routes. Branch on these, never on messages. */
export type ErrorCode =
  /** A running subscription's caller may now read fewer models (its registry role or team memberships changed); it was ended: resubscribe with `after: extensions.cursor`. */
  | 'ACCESS_CHANGED'
  /** The version (or a version of the model) is still deployed (`environments` names where); retire those deployments first. */
  | 'ACTIVE_DEPLOYMENT'
  /** A model or artifact path of that name already exists. */
  | 'ALREADY_EXISTS'
  /** The stage or alias is protected by the model's review policy: open a review request (`requestReview`) and have it approved, or (an admin) give a `bypassReason`. */
  | 'APPROVAL_REQUIRED'
  /** The request is malformed: invalid JSON, no `query`, a bad `variables` or `extensions` value. */
  | 'BAD_REQUEST'
  /** A variable or argument has a value the schema or the field does not accept. */
  | 'BAD_USER_INPUT'
  /** The artifact's stored bytes no longer match its sha256 (or recorded size); nothing is served. Run `npm run verify`, then upload the identical file again to heal it. */
  | 'BLOB_CORRUPT'
  /** The artifact is recorded but its bytes are missing from storage; run `npm run verify`. */
  | 'BLOB_MISSING'
  /** The blob store (the bucket, or the artifact folder's disk) cannot be reached or refused the request; nothing was stored. Retry later. */
  | 'BLOB_STORE_UNAVAILABLE'
  /** `expectedRevision` no longer matches: someone else changed the model first. */
  | 'CONCURRENCY_CONFLICT'
  /** A browser preflight or WebSocket from an origin that is neither the registry's own nor listed in CORS_ORIGINS. */
  | 'CORS_ORIGIN_NOT_ALLOWED'
  /** A request a browser could send from another site without asking first (GET, form, multipart or text body) lacks a preflight-forcing header: send `x-registro-csrf: 1`. */
  | 'CSRF_HEADER_REQUIRED'
  /** The uploaded bytes do not match the sha256 the client announced; nothing was stored. */
  | 'DIGEST_MISMATCH'
  /** The GraphQL document is not valid GraphQL syntax. */
  | 'GRAPHQL_PARSE_FAILED'
  /** The GraphQL document does not match the schema. */
  | 'GRAPHQL_VALIDATION_FAILED'
  /** The request's headers are larger than the server accepts (16 KiB in all). */
  | 'HEADERS_TOO_LARGE'
  /** The request's Host (or X-Forwarded-Host) is not one this registry answers for: under AUTH=local only loopback names and ALLOWED_HOSTS (a defence against DNS rebinding); under AUTH=required hosts outside ALLOWED_HOSTS when it is set. */
  | 'HOST_NOT_ALLOWED'
  /** The model's stored history failed its integrity check (a broken hash chain, or events written outside Registro); writes to it are refused until an operator investigates. */
  | 'INTEGRITY_VIOLATION'
  /** An unexpected failure; details are logged on the server, never sent. */
  | 'INTERNAL_SERVER_ERROR'
  /** A cursor was not issued by this registry (a resume cursor) or by this list (a page cursor), or points past the end of the log. */
  | 'INVALID_CURSOR'
  /** The model or version is not in a state that allows this (e.g. a deleted version). */
  | 'INVALID_STATE'
  /** The operation uses more aliases than the limit (`extensions.limit`). */
  | 'MAX_ALIASES_EXCEEDED'
  /** The operation is nested deeper than the limit (`extensions.limit`). */
  | 'MAX_DEPTH_EXCEEDED'
  /** The operation could return more objects than the limit (`extensions.limit`): the `first` of nested connections multiply. Also when a path nests a list without pagination inside itself, and, without data, when its lists returned more items than the limit while it ran. */
  | 'MAX_ITEMS_EXCEEDED'
  /** The document has more tokens than the limit (`extensions.limit`). */
  | 'MAX_TOKENS_EXCEEDED'
  /** The path exists but not for this HTTP method (see the `Allow` header). */
  | 'METHOD_NOT_ALLOWED'
  /** /metrics refused: the caller's address is outside METRICS_ALLOWED_NETWORKS (loopback only when neither it nor METRICS_TOKEN is set), or the bearer token is not METRICS_TOKEN. */
  | 'METRICS_ACCESS_DENIED'
  /** None of the media types in `Accept` can be produced (see the `Accept` header of the answer). */
  | 'NOT_ACCEPTABLE'
  /** No route for this path, or the named model, version, alias, tag, artifact, principal, team or token does not exist. */
  | 'NOT_FOUND'
  /** The GraphQL request body is larger than the server accepts. */
  | 'PAYLOAD_TOO_LARGE'
  /** The caller may see the model but not do this (it needs EDIT or MANAGE on it, a registry role, or a token scope); `needed` says what would. Unreadable models answer NOT_FOUND. */
  | 'PERMISSION_DENIED'
  /** The `sha256Hash` of `extensions.persistedQuery` is not the sha256 of the document sent. */
  | 'PERSISTED_QUERY_MISMATCH'
  /** The request names a persisted document by its sha256 (automatic persisted queries) that this server does not hold: send the document along with the hash. */
  | 'PERSISTED_QUERY_NOT_FOUND'
  /** A download's If-Match or If-Unmodified-Since does not hold for the current artifact (it changed, or an alias or stage now names another version); or an upload's If-Match where the path has no artifact, or If-None-Match where it has one. */
  | 'PRECONDITION_FAILED'
  /** The requested byte range lies outside the artifact. */
  | 'RANGE_NOT_SATISFIABLE'
  /** The client (its principal, or its address under AUTH=local) has spent its rate limit: a request costs 1 unit and each object returned 1 more (GraphQL lists, MLflow answers, audit exports), out of RATE_LIMIT_BURST regained at RATE_LIMIT_PER_SECOND; a query that empties it stops there. Also credentials from an address past its failed authentications (AUTH_FAILURE_BURST, AUTH_FAILURES_PER_SECOND), refused unchecked. Retry after `Retry-After` seconds (`retryAfter`). Answered with 429, or on the WebSocket operation. */
  | 'RATE_LIMITED'
  /** The request body stopped arriving, or arrived slower than the minimum rate (`reason`: idle or rate); the connection is closed. */
  | 'REQUEST_TIMEOUT'
  /** The result would serialise to more JSON than the limit (`extensions.limit`, in characters), typically a list repeating a large object (a version's tags under each of its aliases): select fewer fields or smaller pages. A mutation's change was made all the same. */
  | 'RESPONSE_TOO_LARGE'
  /** The caller may not approve or reject this review request (`ineligibility`: SELF_APPROVAL, NOT_A_REVIEWER or ALREADY_REVIEWED). */
  | 'REVIEWER_NOT_ELIGIBLE'
  /** The subscriber fell too far behind and was dropped; resubscribe with `after: extensions.cursor`. */
  | 'SUBSCRIBER_TOO_SLOW'
  /** An artifact or upload request is larger than ARTIFACT_MAX_BYTES / ARTIFACT_MAX_REQUEST_BYTES. */
  | 'TOO_LARGE'
  /** Too many subscription connections (WebSockets and SSE streams) open for this client address, this principal or the server, or WebSockets of this address waiting to authenticate (`scope`, `limit`): a WebSocket upgrade or SSE subscription is refused with 503, a WebSocket past its connection_init closed with 1013; retry after `Retry-After` seconds. */
  | 'TOO_MANY_CONNECTIONS'
  /** A WebSocket connection already runs as many operations (subscriptions included) as it may (`extensions.limit`): complete one first. */
  | 'TOO_MANY_OPERATIONS'
  /** Too many uploads in progress for this client or for the server (`scope`, `limit`); retry after `Retry-After` seconds. */
  | 'TOO_MANY_UPLOADS'
  /** Credentials are missing (AUTH=required) or not accepted (unknown, revoked or expired token; invalid SSO access token; not `Bearer <token>`); see `WWW-Authenticate`. WebSockets close with 4401; running subscriptions end with it and a resume cursor. */
  | 'UNAUTHENTICATED'
  /** Promotion or aliasing refused: artifacts are dangerous, unscannable or uninspected; give an `overrideReason`. */
  | 'UNSAFE_ARTIFACT'
  /** The request body's Content-Type is not one the endpoint reads (GraphQL: application/json or multipart/form-data). */
  | 'UNSUPPORTED_MEDIA_TYPE'
  /** An input breaks a rule of the registry (`field` names which input). */
  | 'VALIDATION'
  /** A webhook URL resolves to a private, loopback, link-local or otherwise internal address (or does not resolve) that WEBHOOK_ALLOWED_TARGETS does not allow. */
  | 'WEBHOOK_TARGET_REFUSED';

/** Identifies a pending version. */
export type FinalizeModelVersionInput = {
  /** Fail with ConcurrencyError unless the model is at this revision. */
  expectedRevision?: number | null | undefined;
  /** Model name. */
  name: string;
  /** Version number. */
  version: number;
};

/** How serious an inspection finding is. */
export type FindingSeverity =
  /** Would run code or touch the system when loaded. */
  | 'CRITICAL'
  /** Risky construct. */
  | 'HIGH'
  /** Informational. */
  | 'INFO'
  /** Minor: worth knowing. */
  | 'LOW'
  /** Unusual or incomplete (an incomplete scan makes the verdict UNSCANNABLE). */
  | 'MEDIUM';

/** Who a grant is for. */
export type GranteeKind =
  /** One user or service account. */
  | 'PRINCIPAL'
  /** Every member of a team. */
  | 'TEAM';

/** What a principal may do to one model. Each permission includes the ones above it. */
export type ModelPermission =
  /** READ, and change versions, tags, metrics, descriptions, artifacts, stages and aliases (protected ones by review request). */
  | 'EDIT'
  /** EDIT, and grant or revoke permissions, rename, delete and restore, override the safety gate, and set the review policy. */
  | 'MANAGE'
  /** See the model, its versions, artifacts and full history, and subscribe to its changes. */
  | 'READ';

/** Registration status of a model version. */
export type ModelVersionStatus =
  /** Registration was abandoned; it can never be promoted. */
  | 'FAILED_REGISTRATION'
  /** Created with artifacts still to come; finalize it to make it READY. */
  | 'PENDING_REGISTRATION'
  /** Complete: its artifact set is frozen and it may be promoted or aliased. */
  | 'READY';

/** Sort direction. */
export type OrderDirection =
  /** Ascending. */
  | 'ASC'
  /** Descending. */
  | 'DESC';

/** What kind of principal this is. */
export type PrincipalKind =
  /** A CI job or serving system, acting with API tokens. */
  | 'SERVICE_ACCOUNT'
  /** A person. */
  | 'USER';

/** Filters for `registeredModels`; all given conditions must hold. Each is evaluated in the database, so pages are full and `totalCount` counts exactly the matches. */
export type RegisteredModelFilter = {
  /** Models with this alias (e.g. `champion`), whichever version it points at. */
  alias?: string | null | undefined;
  /** Include deleted models (default false). */
  includeDeleted?: boolean | null | undefined;
  /** Substring of the name: case-sensitive on PostgreSQL, ASCII letters case-insensitive on SQLite. Prefer `text`. */
  nameContains?: string | null | undefined;
  /** Models with at least one live (not deleted) version in this stage. */
  stage?: Stage | null | undefined;
  /** Models carrying this tag. */
  tag?: TagFilter | null | undefined;
  /** Models carrying every one of these tags (with `tag`, at most 20 in all). */
  tags?: Array<TagFilter> | null | undefined;
  /** Case-insensitive substring of the name or the description (1-256 characters; `%` and `_` are plain characters). SQLite folds the case of ASCII letters only. */
  text?: string | null | undefined;
};

/** Sort order of registered models. */
export type RegisteredModelOrder = {
  /** Direction (default ASC). */
  direction?: OrderDirection | null | undefined;
  /** Field to sort by. */
  field: RegisteredModelSortField;
};

/** Fields registered models can be sorted by. */
export type RegisteredModelSortField =
  /** Registration time. */
  | 'CREATED_AT'
  /** Model name. */
  | 'NAME'
  /** Last change. */
  | 'UPDATED_AT';

/** The kinds of event in the registry's log (the values of `RegistryEvent.type`). */
export type RegistryEventType =
  /** A `ModelPermissionGranted` event. */
  | 'ModelPermissionGranted'
  /** A `ModelPermissionRevoked` event. */
  | 'ModelPermissionRevoked'
  /** A model's review policy (protected stages and aliases, approvals, reviewers) was replaced. */
  | 'ModelReviewPolicySet'
  /** A file was added to a version that is still being registered. */
  | 'ModelVersionArtifactAdded'
  /** An artifact's bytes were inspected: format, summary, safety verdict and findings. */
  | 'ModelVersionArtifactInspected'
  /** A comment was added to a version. */
  | 'ModelVersionCommentAdded'
  /** A comment was deleted (it stays listed as deleted, without a body). */
  | 'ModelVersionCommentDeleted'
  /** A comment's body was replaced (the earlier body stays in the log). */
  | 'ModelVersionCommentEdited'
  /** A version was registered. */
  | 'ModelVersionCreated'
  /** A version was deleted (restorable); aliases on it were removed. */
  | 'ModelVersionDeleted'
  /** An environment serves a version at an endpoint (recorded by the serving system; again when the endpoint or description changed). */
  | 'ModelVersionDeployed'
  /** An environment stopped serving a version. */
  | 'ModelVersionDeploymentRetired'
  /** A version's description was replaced. */
  | 'ModelVersionDescriptionUpdated'
  /** A version's artifact set was completed; the version is READY. */
  | 'ModelVersionFinalized'
  /** Metrics were logged on a version. */
  | 'ModelVersionMetricsLogged'
  /** A version's registration was abandoned. */
  | 'ModelVersionRegistrationFailed'
  /** A deleted version was restored. */
  | 'ModelVersionRestored'
  /** A version with unsafe or uninspected artifacts was promoted to Production or aliased anyway, with a written reason. */
  | 'ModelVersionSafetyOverridden'
  /** A version's input/output signature was set (by a user, or from an inspected artifact). */
  | 'ModelVersionSignatureSet'
  /** A version moved to another stage (possibly archiving others). */
  | 'ModelVersionStageTransitioned'
  /** A tag was removed from a version. */
  | 'ModelVersionTagDeleted'
  /** A tag was set on a version. */
  | 'ModelVersionTagSet'
  /** An alias was removed. */
  | 'RegisteredModelAliasDeleted'
  /** An alias was pointed at a version (set or moved). */
  | 'RegisteredModelAliasSet'
  /** A model was registered. */
  | 'RegisteredModelCreated'
  /** A model was deleted (restorable). */
  | 'RegisteredModelDeleted'
  /** A model's description was replaced. */
  | 'RegisteredModelDescriptionUpdated'
  /** A model was renamed. */
  | 'RegisteredModelRenamed'
  /** A deleted model was restored. */
  | 'RegisteredModelRestored'
  /** A tag was removed from a model. */
  | 'RegisteredModelTagDeleted'
  /** A tag was set on a model. */
  | 'RegisteredModelTagSet'
  /** An admin changed a protected stage or alias without review, with a written reason. */
  | 'ReviewPolicyBypassed'
  /** A review request reached its approvals; the change follows, with the request's id as causation id. */
  | 'ReviewRequestApplied'
  /** A reviewer approved a review request. */
  | 'ReviewRequestApproved'
  /** A review request was cancelled. */
  | 'ReviewRequestCancelled'
  /** A review request to change a protected stage or alias was opened. */
  | 'ReviewRequestOpened'
  /** A reviewer rejected a review request, closing it. */
  | 'ReviewRequestRejected'
  /** A review request was closed because its version or target changed by another route. */
  | 'ReviewRequestStaled';

/** Registry-wide role of a principal. */
export type RegistryRole =
  /** Everything, including managing users, teams and tokens. */
  | 'ADMIN'
  /** Reads every model and its full history; changes nothing. */
  | 'AUDITOR'
  /** May create models. */
  | 'MEMBER'
  /** Reads what it is granted. */
  | 'VIEWER';

/** The version, the change (exactly one of stage and alias), and why. */
export type RequestReviewInput = {
  /** The protected alias to point at it. */
  alias?: string | null | undefined;
  /** With stage: archive the versions already in it when the change is made. */
  archiveExistingVersions?: boolean | null | undefined;
  /** Model name. */
  name: string;
  /** Why (required, up to 5,000 characters). */
  reason: string;
  /** The protected stage to move it into. */
  stage?: Stage | null | undefined;
  /** Version number. */
  version: number;
};

/** Where a review request is in its life. */
export type ReviewRequestStatus =
  /** Approved, and the change was made. */
  | 'APPLIED'
  /** Its requester (or a manager) cancelled it. */
  | 'CANCELLED'
  /** Waiting for approvals. */
  | 'OPEN'
  /** A reviewer rejected it. */
  | 'REJECTED'
  /** Closed because its version was deleted or its target changed by another route. */
  | 'STALE';

/** What a review request (or a protection) is about. */
export type ReviewTargetKind =
  /** Pointing an alias at a version. */
  | 'ALIAS'
  /** Moving a version into a stage. */
  | 'STAGE';

/** The version and the alias. */
export type SetRegisteredModelAliasInput = {
  /** Alias matching ^[A-Za-z_][A-Za-z0-9_-]{0,254}$; `latest`, `v<digits>`, `__proto__`, `constructor` and `prototype` are reserved. */
  alias: string;
  /** Admins only: why this change to a stage or alias protected by the model's review policy is made without review (non-blank, up to 5,000 characters; recorded as ReviewPolicyBypassed). Without it such a change fails with ApprovalRequiredError. Ignored when the target is not protected. */
  bypassReason?: string | null | undefined;
  /** Fail with ConcurrencyError unless the model is at this revision. */
  expectedRevision?: number | null | undefined;
  /** Model name. */
  name: string;
  /** Why the alias may point at a version with DANGEROUS, UNSCANNABLE or never-inspected artifacts (non-blank, up to 5,000 characters). Without it that fails with UnsafeArtifactError; with it, a ModelVersionSafetyOverridden event records the reason. Ignored when nothing blocks. */
  overrideReason?: string | null | undefined;
  /** Version number. */
  version: number;
};

/** The model and the tag. */
export type SetRegisteredModelTagInput = {
  /** Fail with ConcurrencyError unless the model is at this revision. */
  expectedRevision?: number | null | undefined;
  /** Tag key (1-250 characters). */
  key: string;
  /** Model name. */
  name: string;
  /** Tag value (up to 5,000 characters). */
  value: string;
};

/** Where a version's signature came from. */
export type SignatureSource =
  /** Extracted from an uploaded artifact (ONNX, PMML, Core ML, SavedModel, MLeap). Only fills a version without a USER signature. */
  | 'INSPECTION'
  /** Set with setModelVersionSignature; inspection never replaces it. */
  | 'USER';

/** Lifecycle stage of a model version. */
export type Stage =
  /** Retired; kept for audit and rollback. */
  | 'ARCHIVED'
  /** Registered, not yet promoted. */
  | 'NONE'
  /** Serving production traffic. */
  | 'PRODUCTION'
  /** Under validation before production. */
  | 'STAGING';

/** Matches objects carrying this tag (and value, when given). */
export type TagFilter = {
  /** Tag key that must be present. */
  key: string;
  /** Exact value the tag must have. */
  value?: string | null | undefined;
};

/** The version, its target stage, and options. */
export type TransitionModelVersionStageInput = {
  /** Archive the other versions currently in the target stage (Staging or Production only). */
  archiveExistingVersions?: boolean | null | undefined;
  /** Admins only: why this change to a stage or alias protected by the model's review policy is made without review (non-blank, up to 5,000 characters; recorded as ReviewPolicyBypassed). Without it such a change fails with ApprovalRequiredError. Ignored when the target is not protected. */
  bypassReason?: string | null | undefined;
  /** Why (kept in history, up to 5,000 characters). */
  comment?: string | null | undefined;
  /** Fail with ConcurrencyError unless the model is at this revision. */
  expectedRevision?: number | null | undefined;
  /** Model name. */
  name: string;
  /** Why the version may go to Production although some of its artifacts are DANGEROUS, UNSCANNABLE or never inspected (non-blank, up to 5,000 characters). Without it such a transition fails with UnsafeArtifactError; with it, a ModelVersionSafetyOverridden event records the reason. Ignored when nothing blocks. */
  overrideReason?: string | null | undefined;
  /** Target stage. */
  stage: Stage;
  /** Version number. */
  version: number;
};

/** The model and its new description. */
export type UpdateRegisteredModelInput = {
  /** New description. */
  description: string;
  /** Fail with ConcurrencyError unless the model is at this revision. */
  expectedRevision?: number | null | undefined;
  /** Model name. */
  name: string;
};

type ErrorFields_ActiveDeploymentError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_AlreadyExistsError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_ApprovalRequiredError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_ArtifactDigestMismatchError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_ArtifactTooLargeError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_ConcurrencyError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_IntegrityError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_InvalidStateError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_NotFoundError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_PermissionDeniedError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_ReviewerNotEligibleError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_UnsafeArtifactError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_ValidationError_Fragment = { code: ErrorCode, message: string };

type ErrorFields_WebhookTargetRefusedError_Fragment = { code: ErrorCode, message: string };

export type ErrorFieldsFragment =
  | ErrorFields_ActiveDeploymentError_Fragment
  | ErrorFields_AlreadyExistsError_Fragment
  | ErrorFields_ApprovalRequiredError_Fragment
  | ErrorFields_ArtifactDigestMismatchError_Fragment
  | ErrorFields_ArtifactTooLargeError_Fragment
  | ErrorFields_ConcurrencyError_Fragment
  | ErrorFields_IntegrityError_Fragment
  | ErrorFields_InvalidStateError_Fragment
  | ErrorFields_NotFoundError_Fragment
  | ErrorFields_PermissionDeniedError_Fragment
  | ErrorFields_ReviewerNotEligibleError_Fragment
  | ErrorFields_UnsafeArtifactError_Fragment
  | ErrorFields_ValidationError_Fragment
  | ErrorFields_WebhookTargetRefusedError_Fragment
;

export type TransitionStageMutationVariables = Exact<{
  input: TransitionModelVersionStageInput;
}>;


export type TransitionStageMutation = { transitionModelVersionStage:
    | { __typename: 'ApprovalRequiredError', code: ErrorCode, message: string }
    | { __typename: 'ConcurrencyError', code: ErrorCode, message: string }
    | { __typename: 'IntegrityError', code: ErrorCode, message: string }
    | { __typename: 'InvalidStateError', code: ErrorCode, message: string }
    | { __typename: 'ModelVersionPayload', modelVersion: { id: string, stage: Stage, aliases: Array<string> }, archivedVersions: Array<{ id: string, stage: Stage }> }
    | { __typename: 'NotFoundError', code: ErrorCode, message: string }
    | { __typename: 'PermissionDeniedError', code: ErrorCode, message: string }
    | { __typename: 'UnsafeArtifactError', code: ErrorCode, message: string }
    | { __typename: 'ValidationError', code: ErrorCode, message: string }
   };

export type SetAliasMutationVariables = Exact<{
  input: SetRegisteredModelAliasInput;
}>;


export type SetAliasMutation = { setRegisteredModelAlias:
    | { __typename: 'ApprovalRequiredError', code: ErrorCode, message: string }
    | { __typename: 'ConcurrencyError', code: ErrorCode, message: string }
    | { __typename: 'IntegrityError', code: ErrorCode, message: string }
    | { __typename: 'InvalidStateError', code: ErrorCode, message: string }
    | { __typename: 'ModelVersionPayload', modelVersion: { id: string, aliases: Array<string> } }
    | { __typename: 'NotFoundError', code: ErrorCode, message: string }
    | { __typename: 'PermissionDeniedError', code: ErrorCode, message: string }
    | { __typename: 'UnsafeArtifactError', code: ErrorCode, message: string }
    | { __typename: 'ValidationError', code: ErrorCode, message: string }
   };

export type DeleteAliasMutationVariables = Exact<{
  input: DeleteRegisteredModelAliasInput;
}>;


export type DeleteAliasMutation = { deleteRegisteredModelAlias:
    | { __typename: 'ApprovalRequiredError', code: ErrorCode, message: string }
    | { __typename: 'ConcurrencyError', code: ErrorCode, message: string }
    | { __typename: 'IntegrityError', code: ErrorCode, message: string }
    | { __typename: 'NotFoundError', code: ErrorCode, message: string }
    | { __typename: 'PermissionDeniedError', code: ErrorCode, message: string }
    | { __typename: 'RegisteredModelPayload' }
    | { __typename: 'ValidationError', code: ErrorCode, message: string }
   };

export type UpdateDescriptionMutationVariables = Exact<{
  input: UpdateRegisteredModelInput;
}>;


export type UpdateDescriptionMutation = { updateRegisteredModel:
    | { __typename: 'ConcurrencyError', code: ErrorCode, message: string }
    | { __typename: 'IntegrityError', code: ErrorCode, message: string }
    | { __typename: 'NotFoundError', code: ErrorCode, message: string }
    | { __typename: 'PermissionDeniedError', code: ErrorCode, message: string }
    | { __typename: 'RegisteredModelPayload', registeredModel: { id: string, description: string, revision: number } }
    | { __typename: 'ValidationError', code: ErrorCode, message: string }
   };

export type SetModelTagMutationVariables = Exact<{
  input: SetRegisteredModelTagInput;
}>;


export type SetModelTagMutation = { setRegisteredModelTag:
    | { __typename: 'ConcurrencyError', code: ErrorCode, message: string }
    | { __typename: 'IntegrityError', code: ErrorCode, message: string }
    | { __typename: 'NotFoundError', code: ErrorCode, message: string }
    | { __typename: 'PermissionDeniedError', code: ErrorCode, message: string }
    | { __typename: 'RegisteredModelPayload', registeredModel: { id: string, revision: number, tags: Array<{ key: string, value: string }> } }
    | { __typename: 'ValidationError', code: ErrorCode, message: string }
   };

export type DeleteModelTagMutationVariables = Exact<{
  input: DeleteRegisteredModelTagInput;
}>;


export type DeleteModelTagMutation = { deleteRegisteredModelTag:
    | { __typename: 'ConcurrencyError', code: ErrorCode, message: string }
    | { __typename: 'IntegrityError', code: ErrorCode, message: string }
    | { __typename: 'NotFoundError', code: ErrorCode, message: string }
    | { __typename: 'PermissionDeniedError', code: ErrorCode, message: string }
    | { __typename: 'RegisteredModelPayload', registeredModel: { id: string, revision: number, tags: Array<{ key: string, value: string }> } }
    | { __typename: 'ValidationError', code: ErrorCode, message: string }
   };

export type RequestReviewMutationVariables = Exact<{
  input: RequestReviewInput;
}>;


export type RequestReviewMutation = { requestReview:
    | { __typename: 'ConcurrencyError', code: ErrorCode, message: string }
    | { __typename: 'IntegrityError', code: ErrorCode, message: string }
    | { __typename: 'InvalidStateError', code: ErrorCode, message: string }
    | { __typename: 'NotFoundError', code: ErrorCode, message: string }
    | { __typename: 'PermissionDeniedError', code: ErrorCode, message: string }
    | { __typename: 'ReviewRequestPayload' }
    | { __typename: 'ValidationError', code: ErrorCode, message: string }
   };

export type ApproveReviewMutationVariables = Exact<{
  input: ApproveReviewRequestInput;
}>;


export type ApproveReviewMutation = { approveReviewRequest:
    | { __typename: 'ConcurrencyError', code: ErrorCode, message: string }
    | { __typename: 'IntegrityError', code: ErrorCode, message: string }
    | { __typename: 'InvalidStateError', code: ErrorCode, message: string }
    | { __typename: 'NotFoundError', code: ErrorCode, message: string }
    | { __typename: 'PermissionDeniedError', code: ErrorCode, message: string }
    | { __typename: 'ReviewRequestPayload' }
    | { __typename: 'ReviewerNotEligibleError', code: ErrorCode, message: string }
    | { __typename: 'UnsafeArtifactError', code: ErrorCode, message: string }
    | { __typename: 'ValidationError', code: ErrorCode, message: string }
   };

export type AddCommentMutationVariables = Exact<{
  input: AddModelVersionCommentInput;
}>;


export type AddCommentMutation = { addModelVersionComment:
    | { __typename: 'ConcurrencyError', code: ErrorCode, message: string }
    | { __typename: 'IntegrityError', code: ErrorCode, message: string }
    | { __typename: 'ModelVersionCommentPayload' }
    | { __typename: 'NotFoundError', code: ErrorCode, message: string }
    | { __typename: 'PermissionDeniedError', code: ErrorCode, message: string }
    | { __typename: 'ValidationError', code: ErrorCode, message: string }
   };

export type FinalizeVersionMutationVariables = Exact<{
  input: FinalizeModelVersionInput;
}>;


export type FinalizeVersionMutation = { finalizeModelVersion:
    | { __typename: 'ConcurrencyError', code: ErrorCode, message: string }
    | { __typename: 'IntegrityError', code: ErrorCode, message: string }
    | { __typename: 'InvalidStateError', code: ErrorCode, message: string }
    | { __typename: 'ModelVersionPayload', modelVersion: { id: string, status: ModelVersionStatus } }
    | { __typename: 'NotFoundError', code: ErrorCode, message: string }
    | { __typename: 'PermissionDeniedError', code: ErrorCode, message: string }
    | { __typename: 'ValidationError', code: ErrorCode, message: string }
   };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer: { id: string, displayName: string, kind: PrincipalKind, role: RegistryRole } };

export type ModelsQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
  filter?: RegisteredModelFilter | null | undefined;
  orderBy?: RegisteredModelOrder | null | undefined;
}>;


export type ModelsQuery = { registeredModels: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, name: string, deleted: boolean, createdBy: string, updatedAt: string, latestVersions: Array<{ id: string, version: number, stage: Stage }>, aliases: Array<{ alias: string, version: number }> }> } };

export type ModelQueryVariables = Exact<{
  name: string;
  versions: number;
}>;


export type ModelQuery = { registeredModel: { id: string, modelId: string, name: string, description: string, createdBy: string, createdAt: string, updatedAt: string, revision: number, deleted: boolean, myPermission: ModelPermission, tags: Array<{ key: string, value: string }>, aliases: Array<{ alias: string, version: number }>, versions: { totalCount: number, nodes: Array<{ id: string, version: number, stage: Stage, status: ModelVersionStatus, aliases: Array<string>, createdAt: string, createdBy: string, metrics: Array<{ key: string, value: number }>, artifacts: Array<{ path: string, verdict: ArtifactVerdict | null }> }> }, history: { totalCount: number, nodes: Array<{ id: string, type: RegistryEventType, position: number, occurredAt: string, actor: { id: string | null, displayName: string, kind: ActorKind } }> } } | null };

export type ModelPermissionsQueryVariables = Exact<{
  name: string;
}>;


export type ModelPermissionsQuery = { registeredModel: { id: string, permissions: Array<{ granteeId: string, granteeKind: GranteeKind, permission: ModelPermission, principal: { id: string, displayName: string } | null, team: { id: string, name: string } | null }> } | null };

export type ModelAsOfQueryVariables = Exact<{
  name: string;
  at: string;
}>;


export type ModelAsOfQuery = { registeredModelAsOf: { at: string, position: number, name: string, description: string, deleted: boolean, revision: number, tags: Array<{ key: string, value: string }>, aliases: Array<{ alias: string, version: number }>, versions: Array<{ version: number, stage: Stage, status: ModelVersionStatus, deleted: boolean, aliases: Array<string>, metrics: Array<{ key: string, value: number }>, artifacts: Array<{ path: string, verdict: ArtifactVerdict | null }> }> } | null };

export type VersionQueryVariables = Exact<{
  name: string;
  version: number;
  usageFrom: string;
}>;


export type VersionQuery = { modelVersion: { id: string, version: number, stage: Stage, status: ModelVersionStatus, aliases: Array<string>, description: string, source: string, runId: string | null, createdAt: string, createdBy: string, updatedAt: string, params: Record<string, unknown>, usage: { from: string, totals: { downloads: number, bytes: number, requests: number, errors: number, latencyP50Ms: number | null, latencyP99Ms: number | null } }, deployments: { nodes: Array<{ environment: string, endpoint: string, active: boolean, description: string | null, deployedAt: string, retiredAt: string | null, deployedBy: { displayName: string } }> }, reviewRequests: Array<{ id: string, status: ReviewRequestStatus, reason: string, createdAt: string, canApprove: boolean, requiredApprovals: number, countedApprovals: number | null, target: { kind: ReviewTargetKind, stage: Stage | null, alias: string | null }, requestedBy: { id: string, displayName: string }, approvals: Array<{ at: string, comment: string, reviewer: { displayName: string } }> }>, comments: { totalCount: number, nodes: Array<{ id: string, body: string | null, createdAt: string, deleted: boolean, edited: boolean, author: { displayName: string } }> }, model: { id: string, name: string, myPermission: ModelPermission, revision: number, reviewPolicy: Array<{ stage: Stage | null, aliasPattern: string | null, requiredApprovals: number }> }, metrics: Array<{ key: string, value: number }>, tags: Array<{ key: string, value: string }>, signature: { source: SignatureSource, path: string | null, inputs: Array<{ name: string, dtype: string | null, shape: Array<{ size: number | null, symbol: string | null }> | null }>, outputs: Array<{ name: string, dtype: string | null, shape: Array<{ size: number | null, symbol: string | null }> | null }> } | null, artifacts: Array<{ path: string, role: ArtifactRole, size: number, sha256: string, mediaType: string, format: ArtifactFormat | null, formatVersion: string | null, verdict: ArtifactVerdict | null, integrity: ArtifactIntegrity, inspectedAt: string | null, downloadUrl: string, findings: Array<{ severity: FindingSeverity, message: string, location: string | null }> }> } | null };

export type VersionConsumersQueryVariables = Exact<{
  name: string;
  version: number;
}>;


export type VersionConsumersQuery = { modelVersion: { id: string, consumers: { totalCount: number, nodes: Array<{ principalId: string, downloads: number, bytes: number, lastSeenAt: string, principal: { id: string, displayName: string } | null }> } } | null };

export type CompareVersionQueryVariables = Exact<{
  name: string;
  version: number;
}>;


export type CompareVersionQuery = { modelVersion: { id: string, version: number, stage: Stage, status: ModelVersionStatus, aliases: Array<string>, description: string, source: string, runId: string | null, createdAt: string, createdBy: string, updatedAt: string, params: Record<string, unknown>, model: { id: string, name: string }, metrics: Array<{ key: string, value: number }>, tags: Array<{ key: string, value: string }>, signature: { source: SignatureSource, path: string | null, inputs: Array<{ name: string, dtype: string | null, shape: Array<{ size: number | null, symbol: string | null }> | null }>, outputs: Array<{ name: string, dtype: string | null, shape: Array<{ size: number | null, symbol: string | null }> | null }> } | null, artifacts: Array<{ path: string, role: ArtifactRole, size: number, sha256: string, mediaType: string, format: ArtifactFormat | null, formatVersion: string | null, verdict: ArtifactVerdict | null, integrity: ArtifactIntegrity, inspectedAt: string | null, downloadUrl: string, findings: Array<{ severity: FindingSeverity, message: string, location: string | null }> }> } | null };

export type VersionDetailFragment = { id: string, version: number, stage: Stage, status: ModelVersionStatus, aliases: Array<string>, description: string, source: string, runId: string | null, createdAt: string, createdBy: string, updatedAt: string, params: Record<string, unknown>, metrics: Array<{ key: string, value: number }>, tags: Array<{ key: string, value: string }>, signature: { source: SignatureSource, path: string | null, inputs: Array<{ name: string, dtype: string | null, shape: Array<{ size: number | null, symbol: string | null }> | null }>, outputs: Array<{ name: string, dtype: string | null, shape: Array<{ size: number | null, symbol: string | null }> | null }> } | null, artifacts: Array<{ path: string, role: ArtifactRole, size: number, sha256: string, mediaType: string, format: ArtifactFormat | null, formatVersion: string | null, verdict: ArtifactVerdict | null, integrity: ArtifactIntegrity, inspectedAt: string | null, downloadUrl: string, findings: Array<{ severity: FindingSeverity, message: string, location: string | null }> }> };

export type StageChangesSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type StageChangesSubscription = { modelVersionStageChanged: { cursor: string, version: number, stage: Stage, previousStage: Stage, occurredAt: string, actor: { displayName: string }, modelVersion: { id: string, stage: Stage, aliases: Array<string>, model: { id: string, name: string } }, archivedVersions: Array<{ id: string, stage: Stage }> } };

export type AliasChangesSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type AliasChangesSubscription = { registeredModelAliasChanged: { cursor: string, alias: string, change: AliasChangeKind, version: number | null, previousVersion: number | null, occurredAt: string, actor: { displayName: string }, modelVersion: { id: string, aliases: Array<string>, model: { id: string, name: string, aliases: Array<{ alias: string, version: number }> } } | null, previousModelVersion: { id: string, aliases: Array<string>, model: { id: string, name: string, aliases: Array<{ alias: string, version: number }> } } | null } };

export const ErrorFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]} as unknown as DocumentNode<ErrorFieldsFragment, unknown>;
export const VersionDetailFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"VersionDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ModelVersion"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"runId"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"params"}},{"kind":"Field","name":{"kind":"Name","value":"metrics"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"tags"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"signature"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"inputs"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"dtype"}},{"kind":"Field","name":{"kind":"Name","value":"shape"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"outputs"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"dtype"}},{"kind":"Field","name":{"kind":"Name","value":"shape"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"artifacts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"sha256"}},{"kind":"Field","name":{"kind":"Name","value":"mediaType"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"formatVersion"}},{"kind":"Field","name":{"kind":"Name","value":"verdict"}},{"kind":"Field","name":{"kind":"Name","value":"integrity"}},{"kind":"Field","name":{"kind":"Name","value":"inspectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"downloadUrl"}},{"kind":"Field","name":{"kind":"Name","value":"findings"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"severity"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"location"}}]}}]}}]}}]} as unknown as DocumentNode<VersionDetailFragment, unknown>;
export const TransitionStageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"TransitionStage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"TransitionModelVersionStageInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"transitionModelVersionStage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ModelVersionPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"modelVersion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"}}]}},{"kind":"Field","name":{"kind":"Name","value":"archivedVersions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}}]}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ErrorFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]} as unknown as DocumentNode<TransitionStageMutation, TransitionStageMutationVariables>;
export const SetAliasDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SetAlias"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SetRegisteredModelAliasInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"setRegisteredModelAlias"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ModelVersionPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"modelVersion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"}}]}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ErrorFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]} as unknown as DocumentNode<SetAliasMutation, SetAliasMutationVariables>;
export const DeleteAliasDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteAlias"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DeleteRegisteredModelAliasInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteRegisteredModelAlias"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ErrorFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]} as unknown as DocumentNode<DeleteAliasMutation, DeleteAliasMutationVariables>;
export const UpdateDescriptionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateDescription"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateRegisteredModelInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateRegisteredModel"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RegisteredModelPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"registeredModel"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"revision"}}]}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ErrorFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]} as unknown as DocumentNode<UpdateDescriptionMutation, UpdateDescriptionMutationVariables>;
export const SetModelTagDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SetModelTag"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SetRegisteredModelTagInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"setRegisteredModelTag"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RegisteredModelPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"registeredModel"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"tags"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"revision"}}]}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ErrorFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]} as unknown as DocumentNode<SetModelTagMutation, SetModelTagMutationVariables>;
export const DeleteModelTagDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteModelTag"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DeleteRegisteredModelTagInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteRegisteredModelTag"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RegisteredModelPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"registeredModel"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"tags"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"revision"}}]}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ErrorFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]} as unknown as DocumentNode<DeleteModelTagMutation, DeleteModelTagMutationVariables>;
export const RequestReviewDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RequestReview"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"RequestReviewInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"requestReview"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ErrorFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]} as unknown as DocumentNode<RequestReviewMutation, RequestReviewMutationVariables>;
export const ApproveReviewDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ApproveReview"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ApproveReviewRequestInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"approveReviewRequest"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ErrorFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]} as unknown as DocumentNode<ApproveReviewMutation, ApproveReviewMutationVariables>;
export const AddCommentDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"AddComment"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"AddModelVersionCommentInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"addModelVersionComment"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ErrorFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]} as unknown as DocumentNode<AddCommentMutation, AddCommentMutationVariables>;
export const FinalizeVersionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"FinalizeVersion"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"FinalizeModelVersionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"finalizeModelVersion"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ModelVersionPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"modelVersion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"ErrorFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ErrorFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]} as unknown as DocumentNode<FinalizeVersionMutation, FinalizeVersionMutationVariables>;
export const ViewerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"role"}}]}}]}}]} as unknown as DocumentNode<ViewerQuery, ViewerQueryVariables>;
export const ModelsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Models"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"RegisteredModelFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"RegisteredModelOrder"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"registeredModels"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"orderBy"},"value":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"deleted"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"latestVersions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}}]}},{"kind":"Field","name":{"kind":"Name","value":"aliases"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alias"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}}]}}]}}]}}]} as unknown as DocumentNode<ModelsQuery, ModelsQueryVariables>;
export const ModelDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Model"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"versions"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"registeredModel"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"modelId"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"revision"}},{"kind":"Field","name":{"kind":"Name","value":"deleted"}},{"kind":"Field","name":{"kind":"Name","value":"myPermission"}},{"kind":"Field","name":{"kind":"Name","value":"tags"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"aliases"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alias"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}},{"kind":"Field","name":{"kind":"Name","value":"versions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"versions"}}},{"kind":"Argument","name":{"kind":"Name","value":"direction"},"value":{"kind":"EnumValue","value":"DESC"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"metrics"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"artifacts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"verdict"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"history"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"last"},"value":{"kind":"IntValue","value":"100"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"actor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<ModelQuery, ModelQueryVariables>;
export const ModelPermissionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ModelPermissions"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"registeredModel"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"permissions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"granteeId"}},{"kind":"Field","name":{"kind":"Name","value":"granteeKind"}},{"kind":"Field","name":{"kind":"Name","value":"permission"}},{"kind":"Field","name":{"kind":"Name","value":"principal"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}},{"kind":"Field","name":{"kind":"Name","value":"team"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]}}]}}]} as unknown as DocumentNode<ModelPermissionsQuery, ModelPermissionsQueryVariables>;
export const ModelAsOfDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ModelAsOf"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"at"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"registeredModelAsOf"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}},{"kind":"Argument","name":{"kind":"Name","value":"at"},"value":{"kind":"Variable","name":{"kind":"Name","value":"at"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"deleted"}},{"kind":"Field","name":{"kind":"Name","value":"revision"}},{"kind":"Field","name":{"kind":"Name","value":"tags"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"aliases"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alias"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}},{"kind":"Field","name":{"kind":"Name","value":"versions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"includeDeleted"},"value":{"kind":"BooleanValue","value":true}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"deleted"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"}},{"kind":"Field","name":{"kind":"Name","value":"metrics"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"artifacts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"verdict"}}]}}]}}]}}]}}]} as unknown as DocumentNode<ModelAsOfQuery, ModelAsOfQueryVariables>;
export const VersionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Version"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"version"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"usageFrom"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"modelVersion"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}},{"kind":"Argument","name":{"kind":"Name","value":"version"},"value":{"kind":"Variable","name":{"kind":"Name","value":"version"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"VersionDetail"}},{"kind":"Field","name":{"kind":"Name","value":"usage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"from"},"value":{"kind":"Variable","name":{"kind":"Name","value":"usageFrom"}}},{"kind":"Argument","name":{"kind":"Name","value":"granularity"},"value":{"kind":"EnumValue","value":"DAY"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"from"}},{"kind":"Field","name":{"kind":"Name","value":"totals"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"downloads"}},{"kind":"Field","name":{"kind":"Name","value":"bytes"}},{"kind":"Field","name":{"kind":"Name","value":"requests"}},{"kind":"Field","name":{"kind":"Name","value":"errors"}},{"kind":"Field","name":{"kind":"Name","value":"latencyP50Ms"}},{"kind":"Field","name":{"kind":"Name","value":"latencyP99Ms"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"deployments"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"20"}},{"kind":"Argument","name":{"kind":"Name","value":"includeRetired"},"value":{"kind":"BooleanValue","value":true}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"environment"}},{"kind":"Field","name":{"kind":"Name","value":"endpoint"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"deployedAt"}},{"kind":"Field","name":{"kind":"Name","value":"retiredAt"}},{"kind":"Field","name":{"kind":"Name","value":"deployedBy"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"reviewRequests"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"canApprove"}},{"kind":"Field","name":{"kind":"Name","value":"requiredApprovals"}},{"kind":"Field","name":{"kind":"Name","value":"countedApprovals"}},{"kind":"Field","name":{"kind":"Name","value":"target"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"alias"}}]}},{"kind":"Field","name":{"kind":"Name","value":"requestedBy"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}},{"kind":"Field","name":{"kind":"Name","value":"approvals"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"comment"}},{"kind":"Field","name":{"kind":"Name","value":"reviewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"comments"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"50"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"body"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"deleted"}},{"kind":"Field","name":{"kind":"Name","value":"edited"}},{"kind":"Field","name":{"kind":"Name","value":"author"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"model"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"myPermission"}},{"kind":"Field","name":{"kind":"Name","value":"revision"}},{"kind":"Field","name":{"kind":"Name","value":"reviewPolicy"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"aliasPattern"}},{"kind":"Field","name":{"kind":"Name","value":"requiredApprovals"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"VersionDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ModelVersion"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"runId"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"params"}},{"kind":"Field","name":{"kind":"Name","value":"metrics"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"tags"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"signature"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"inputs"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"dtype"}},{"kind":"Field","name":{"kind":"Name","value":"shape"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"outputs"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"dtype"}},{"kind":"Field","name":{"kind":"Name","value":"shape"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"artifacts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"sha256"}},{"kind":"Field","name":{"kind":"Name","value":"mediaType"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"formatVersion"}},{"kind":"Field","name":{"kind":"Name","value":"verdict"}},{"kind":"Field","name":{"kind":"Name","value":"integrity"}},{"kind":"Field","name":{"kind":"Name","value":"inspectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"downloadUrl"}},{"kind":"Field","name":{"kind":"Name","value":"findings"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"severity"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"location"}}]}}]}}]}}]} as unknown as DocumentNode<VersionQuery, VersionQueryVariables>;
export const VersionConsumersDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"VersionConsumers"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"version"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"modelVersion"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}},{"kind":"Argument","name":{"kind":"Name","value":"version"},"value":{"kind":"Variable","name":{"kind":"Name","value":"version"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"consumers"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"20"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"principalId"}},{"kind":"Field","name":{"kind":"Name","value":"downloads"}},{"kind":"Field","name":{"kind":"Name","value":"bytes"}},{"kind":"Field","name":{"kind":"Name","value":"lastSeenAt"}},{"kind":"Field","name":{"kind":"Name","value":"principal"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<VersionConsumersQuery, VersionConsumersQueryVariables>;
export const CompareVersionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CompareVersion"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"version"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"modelVersion"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}},{"kind":"Argument","name":{"kind":"Name","value":"version"},"value":{"kind":"Variable","name":{"kind":"Name","value":"version"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"VersionDetail"}},{"kind":"Field","name":{"kind":"Name","value":"model"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"VersionDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ModelVersion"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"runId"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"params"}},{"kind":"Field","name":{"kind":"Name","value":"metrics"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"tags"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"signature"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"inputs"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"dtype"}},{"kind":"Field","name":{"kind":"Name","value":"shape"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"outputs"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"dtype"}},{"kind":"Field","name":{"kind":"Name","value":"shape"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"artifacts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"sha256"}},{"kind":"Field","name":{"kind":"Name","value":"mediaType"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"formatVersion"}},{"kind":"Field","name":{"kind":"Name","value":"verdict"}},{"kind":"Field","name":{"kind":"Name","value":"integrity"}},{"kind":"Field","name":{"kind":"Name","value":"inspectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"downloadUrl"}},{"kind":"Field","name":{"kind":"Name","value":"findings"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"severity"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"location"}}]}}]}}]}}]} as unknown as DocumentNode<CompareVersionQuery, CompareVersionQueryVariables>;
export const StageChangesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"StageChanges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"modelVersionStageChanged"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"previousStage"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"actor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}},{"kind":"Field","name":{"kind":"Name","value":"modelVersion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"}},{"kind":"Field","name":{"kind":"Name","value":"model"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"archivedVersions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}}]}}]}}]}}]} as unknown as DocumentNode<StageChangesSubscription, StageChangesSubscriptionVariables>;
export const AliasChangesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"AliasChanges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"registeredModelAliasChanged"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"alias"}},{"kind":"Field","name":{"kind":"Name","value":"change"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"previousVersion"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"actor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}},{"kind":"Field","name":{"kind":"Name","value":"modelVersion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"}},{"kind":"Field","name":{"kind":"Name","value":"model"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alias"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"previousModelVersion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"}},{"kind":"Field","name":{"kind":"Name","value":"model"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"aliases"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alias"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<AliasChangesSubscription, AliasChangesSubscriptionVariables>;