import type { Caller, PrincipalDirectory } from "../access/principal.ts";
import type { AccessPolicy, AccessRights } from "../access/modelAccess.ts";
import type { CommandDeps, CommandMetadata } from "../application/executeCommand.ts";
import type { ArtifactInspector } from "../artifacts/artifactInspector.ts";
import type { BlobStore } from "../artifacts/blobStore.ts";
import type { Database, Db } from "../db/database.ts";
import type { UsageSettings } from "../usage/usageTracking.ts";
import type { WebhookService } from "../webhooks/webhookService.ts";
import type { ByteBudget, EventHub } from "../subscriptions/eventHub.ts";
import type { RateCharge } from "../http/rateLimit.ts";

/** Per-request context: the database for reads, the command dependencies, and who is asking. */
export interface GraphQLContext extends CommandMetadata {
  /** Who is asking: the principal and the credential this request (or WebSocket operation) proved. */
  readonly caller: Caller;
  /** What the caller may do (../access/modelAccess.ts); commands check it against each model's grants. */
  readonly rights: AccessRights;
  /** The reader as the caller sees it: every model-owned read is narrowed to readable models. */
  readonly reader: Db;
  /** The registry's access settings (default permission). */
  readonly accessPolicy: AccessPolicy;
  /** The whole database. Read model data through `reader`, never `db.reader`. */
  readonly db: Database;
  readonly commands: CommandDeps;
  /** Live committed events, for subscriptions. */
  readonly events: EventHub;
  /**
   * The hub's accessGeneration when this context was made, right after the caller was
   * authenticated: a subscription that finds it moved by the time it watches for access events
   * checks its caller again, for a change that went by in between.
   */
  readonly accessGeneration: number;
  /** Inspects artifact bytes (uploads, re-inspection). */
  readonly inspector: ArtifactInspector;
  /** Where artifact bytes live (for Artifact.integrity). */
  readonly blobs: BlobStore;
  /** The byte bound of the connection subscriptions are served over (a WebSocket, an SSE response). */
  readonly subscriberBudget?: ByteBudget | undefined;
  /**
   * A signal that fires when the request's connection is gone; a subscription ends with it. Made on
   * first call: a query or a mutation never asks, and an abort signal per request is not free.
   */
  readonly connectionClosed: () => AbortSignal;
  /**
   * Authenticates the credentials of this operation again: the caller as it is now (its current
   * role and teams), or null when they are no longer accepted (a token revoked, a JWT expired, a
   * principal disabled). Running subscriptions ask periodically.
   */
  readonly reauthenticate: () => Promise<Caller | null>;
  /**
   * How often (ms) a running subscription re-checks its credentials and its caller's access besides
   * when an access event concerns it; 0: only then.
   */
  readonly credentialRecheckMs: number;
  /** Principals, teams and tokens: turns credentials (or local mode) into a caller. */
  readonly directory: PrincipalDirectory;
  /** Webhook delivery: the target allow-list, pings and redeliveries. */
  readonly webhooks: WebhookService;
  /** Usage tracking settings the usage fields and serving reports check against (retention). */
  readonly usage: UsageSettings;
  /**
   * The id this request's multipart upload issued its `Upload` tokens under
   * (../artifacts/uploadTokens.ts); undefined for any other request.
   */
  readonly uploadRequest?: string | undefined;
  /**
   * Charges the caller's rate limit (../http/rateLimit.ts) for the objects a query's or mutation's
   * lists return; undefined when rate limiting is off.
   */
  readonly rateCharge?: RateCharge | undefined;
}
