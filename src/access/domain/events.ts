// Events of the access context: the lifecycle of principals, teams and API tokens. Past tense,
// versioned payloads. A token's secret never appears here: only its sha256, which is what lookups use.
import { z } from "zod";
import type { PrincipalKind, RegistryRole, TokenScope } from "../principal.ts";

export const PRINCIPAL_KINDS = ["USER", "SERVICE_ACCOUNT"] as const satisfies readonly PrincipalKind[];
export const REGISTRY_ROLES = [
  "ADMIN",
  "MEMBER",
  "VIEWER",
  "AUDITOR",
] as const satisfies readonly RegistryRole[];
export const TOKEN_SCOPES = ["read", "write", "admin"] as const satisfies readonly TokenScope[];
/** How a principal came to be: created by an admin, first seen through SSO, the local administrator, or the bootstrap CLI. */
export const PRINCIPAL_SOURCES = ["admin", "sso", "local", "bootstrap"] as const;
export type PrincipalSource = (typeof PRINCIPAL_SOURCES)[number];
export const MEMBERSHIP_SOURCES = ["admin", "sso"] as const;
export type MembershipSource = (typeof MEMBERSHIP_SOURCES)[number];

/** Who a principal is at an identity provider (SSO issuer + subject; "local" + OS user name). */
export interface ExternalIdentity {
  readonly issuer: string;
  readonly subject: string;
}

export type PrincipalEvent =
  | {
      readonly type: "PrincipalCreated";
      readonly data: {
        readonly principalId: string;
        readonly kind: PrincipalKind;
        readonly displayName: string;
        readonly email: string | null;
        readonly role: RegistryRole;
        readonly source: PrincipalSource;
        readonly externalIdentity: ExternalIdentity | null;
      };
    }
  | {
      readonly type: "PrincipalProfileUpdated";
      readonly data: { readonly displayName: string; readonly email: string | null };
    }
  | {
      readonly type: "PrincipalRoleSet";
      readonly data: { readonly from: RegistryRole; readonly to: RegistryRole };
    }
  | { readonly type: "PrincipalDisabled"; readonly data: Record<string, never> }
  | { readonly type: "PrincipalEnabled"; readonly data: Record<string, never> };

export type TeamEvent =
  | { readonly type: "TeamCreated"; readonly data: { readonly teamId: string; readonly name: string } }
  | { readonly type: "TeamRenamed"; readonly data: { readonly from: string; readonly to: string } }
  | {
      readonly type: "TeamMemberAdded";
      /** `sso` memberships follow the groups claim and are removed with it; `admin` ones are not. */
      readonly data: { readonly principalId: string; readonly source: MembershipSource };
    }
  | { readonly type: "TeamMemberRemoved"; readonly data: { readonly principalId: string } };

export type TokenEvent =
  | {
      readonly type: "ApiTokenCreated";
      readonly data: {
        readonly tokenId: string;
        readonly principalId: string;
        readonly name: string;
        /** Lowercase hex sha256 of the secret: never the secret itself. */
        readonly tokenHash: string;
        /** The secret's first characters, for recognising it in lists (not enough to use it). */
        readonly prefix: string;
        readonly scopes: readonly TokenScope[];
        readonly expiresAt: string | null;
      };
    }
  | { readonly type: "ApiTokenRevoked"; readonly data: Record<string, never> };

export type AccessEvent = PrincipalEvent | TeamEvent | TokenEvent;
export type AccessEventType = AccessEvent["type"];

export const ACCESS_EVENT_SCHEMA_VERSIONS: Record<AccessEventType, number> = {
  PrincipalCreated: 1,
  PrincipalProfileUpdated: 1,
  PrincipalRoleSet: 1,
  PrincipalDisabled: 1,
  PrincipalEnabled: 1,
  TeamCreated: 1,
  TeamRenamed: 1,
  TeamMemberAdded: 1,
  TeamMemberRemoved: 1,
  ApiTokenCreated: 1,
  ApiTokenRevoked: 1,
};

/** Stream names: `<category>:<id>`, so the model log's readers can tell them apart. */
export const principalStream = (id: string) => `principal:${id}`;
export const teamStream = (id: string) => `team:${id}`;
export const tokenStream = (id: string) => `token:${id}`;

const role = z.enum(REGISTRY_ROLES);
const empty = z.object({}).transform(() => ({}) as Record<string, never>);

const dataSchemas = {
  PrincipalCreated: z.object({
    principalId: z.string(),
    kind: z.enum(PRINCIPAL_KINDS),
    displayName: z.string(),
    email: z.string().nullable(),
    role,
    source: z.enum(PRINCIPAL_SOURCES),
    externalIdentity: z.object({ issuer: z.string(), subject: z.string() }).nullable().default(null),
  }),
  PrincipalProfileUpdated: z.object({ displayName: z.string(), email: z.string().nullable() }),
  PrincipalRoleSet: z.object({ from: role, to: role }),
  PrincipalDisabled: empty,
  PrincipalEnabled: empty,
  TeamCreated: z.object({ teamId: z.string(), name: z.string() }),
  TeamRenamed: z.object({ from: z.string(), to: z.string() }),
  TeamMemberAdded: z.object({ principalId: z.string(), source: z.enum(MEMBERSHIP_SOURCES).default("admin") }),
  TeamMemberRemoved: z.object({ principalId: z.string() }),
  ApiTokenCreated: z.object({
    tokenId: z.string(),
    principalId: z.string(),
    name: z.string(),
    tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
    prefix: z.string(),
    scopes: z.array(z.enum(TOKEN_SCOPES)),
    expiresAt: z.string().nullable(),
  }),
  ApiTokenRevoked: empty,
} satisfies Record<AccessEventType, z.ZodType>;

export const isAccessEventType = (type: string): type is AccessEventType =>
  Object.hasOwn(ACCESS_EVENT_SCHEMA_VERSIONS, type);

/** Validates a stored access event (never trusted blindly); throws on anything it does not know. */
export function parseAccessEvent(type: string, schemaVersion: number, data: unknown): AccessEvent {
  if (!isAccessEventType(type)) throw new Error(`unknown access event type ${type}`);
  if (schemaVersion < 1 || schemaVersion > ACCESS_EVENT_SCHEMA_VERSIONS[type])
    throw new Error(`unsupported schema version ${schemaVersion} of ${type}`);
  return { type, data: dataSchemas[type].parse(data) } as AccessEvent;
}
