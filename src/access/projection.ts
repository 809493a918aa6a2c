// Inline projection of access events into principals, teams, team_members and api_tokens, in the
// same transaction as the append (a query right after a mutation sees it). Membership and token
// rows reference principal rows, so the rebuild replays access events in log order, not per stream.
import type { Tx } from "../db/database.ts";
import type { Recorded } from "../store/eventStore.ts";
import type { AccessEvent } from "./domain/events.ts";

/** An access event as committed: the event, where it sits, and who did it when. */
export type RecordedAccessEvent = Recorded<AccessEvent>;

const streamEntity = (streamId: string) => streamId.slice(streamId.indexOf(":") + 1);

/** Applies one committed access event to the projection tables. */
export async function projectAccessEvent(tx: Tx, e: RecordedAccessEvent): Promise<void> {
  const id = streamEntity(e.streamId);
  const at = e.occurredAt;
  switch (e.type) {
    case "PrincipalCreated":
      await tx.execute(
        `INSERT INTO principals (id, kind, display_name, email, role, disabled, source, external_issuer, external_subject, created_at, created_by, updated_at, revision)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          e.data.principalId,
          e.data.kind,
          e.data.displayName,
          e.data.email,
          e.data.role,
          false,
          e.data.source,
          e.data.externalIdentity?.issuer ?? null,
          e.data.externalIdentity?.subject ?? null,
          at,
          e.actor.displayName,
          at,
          e.revision,
        ],
      );
      return;
    case "PrincipalProfileUpdated":
      await tx.execute(
        "UPDATE principals SET display_name = ?, email = ?, updated_at = ?, revision = ? WHERE id = ?",
        [e.data.displayName, e.data.email, at, e.revision, id],
      );
      return;
    case "PrincipalRoleSet":
      await tx.execute("UPDATE principals SET role = ?, updated_at = ?, revision = ? WHERE id = ?", [
        e.data.to,
        at,
        e.revision,
        id,
      ]);
      return;
    case "PrincipalDisabled":
    case "PrincipalEnabled":
      await tx.execute("UPDATE principals SET disabled = ?, updated_at = ?, revision = ? WHERE id = ?", [
        e.type === "PrincipalDisabled",
        at,
        e.revision,
        id,
      ]);
      return;
    case "TeamCreated":
      await tx.execute(
        "INSERT INTO teams (id, name, created_at, created_by, updated_at, revision) VALUES (?, ?, ?, ?, ?, ?)",
        [e.data.teamId, e.data.name, at, e.actor.displayName, at, e.revision],
      );
      return;
    case "TeamRenamed":
      await tx.execute("UPDATE teams SET name = ?, updated_at = ?, revision = ? WHERE id = ?", [
        e.data.to,
        at,
        e.revision,
        id,
      ]);
      return;
    case "TeamMemberAdded":
    case "TeamMemberRemoved":
      if (e.type === "TeamMemberAdded")
        await tx.execute(
          "INSERT INTO team_members (team_id, principal_id, added_at, source) VALUES (?, ?, ?, ?) ON CONFLICT (team_id, principal_id) DO NOTHING",
          [id, e.data.principalId, at, e.data.source],
        );
      else
        await tx.execute("DELETE FROM team_members WHERE team_id = ? AND principal_id = ?", [
          id,
          e.data.principalId,
        ]);
      await tx.execute("UPDATE teams SET updated_at = ?, revision = ? WHERE id = ?", [at, e.revision, id]);
      return;
    case "ApiTokenCreated":
      await tx.execute(
        `INSERT INTO api_tokens (id, principal_id, name, token_hash, prefix, scopes, expires_at, revoked, created_at, created_by, revision)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          e.data.tokenId,
          e.data.principalId,
          e.data.name,
          e.data.tokenHash,
          e.data.prefix,
          e.data.scopes.join(","),
          e.data.expiresAt === null ? null : new Date(e.data.expiresAt),
          false,
          at,
          e.actor.displayName,
          e.revision,
        ],
      );
      return;
    case "ApiTokenRevoked":
      await tx.execute("UPDATE api_tokens SET revoked = ?, revoked_at = ?, revision = ? WHERE id = ?", [
        true,
        at,
        e.revision,
        id,
      ]);
      return;
  }
}

/** The projection tables, children first (the rebuild replaces them with tables it filled). */
export const ACCESS_TABLES = ["api_tokens", "team_members", "teams", "principals"] as const;

/** The stream categories whose events these tables project. */
export const ACCESS_STREAM_CATEGORIES = ["principal", "team", "token"] as const;
