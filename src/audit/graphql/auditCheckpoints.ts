// The audit checkpoints in GraphQL, for auditors: what the server signed and when, so they can be
// copied out of the registry and checked later with `npm run audit:verify -- --checkpoint FILE`.
import { deniedQuery } from "../../access/graphql/caller.ts";
import { builder } from "../../graphql/builder.ts";
import { countedConnection } from "../../graphql/types/common.ts";
import type { GraphQLContext } from "../../graphql/context.ts";

export const AuditCheckpointRef = builder.prismaObject("AuditCheckpoint", {
  description:
    "A signed checkpoint of the event log: the Merkle root of every stream's head (stream id, revision, chain hash) at a log position, signed with the server's Ed25519 key. Kept outside the registry, it shows later whether the history up to that position was rewritten, cut or extended with a stream (see docs/audit.md).",
  fields: (t) => ({
    position: t.exposeInt("position", { description: "The log position the streams' heads were taken at." }),
    root: t.exposeString("root", {
      description:
        "Lowercase hex SHA-256 Merkle root (RFC 6962 hashing) over the heads, sorted by stream id byte by byte.",
    }),
    streamCount: t.exposeInt("streamCount", {
      description: "How many streams had events at or before the position.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the checkpoint was signed." }),
    algorithm: t.exposeString("algorithm", { description: "The signature algorithm (`Ed25519`)." }),
    keyFingerprint: t.exposeString("keyFingerprint", {
      description: "`sha256:` and the hex SHA-256 of the signing public key (DER SubjectPublicKeyInfo).",
    }),
    signature: t.exposeString("signature", {
      description:
        "Base64 signature over the RFC 8785 canonical JSON of encoding `registro.checkpoint.v1`, position, root, streamCount, createdAt, algorithm and keyFingerprint.",
    }),
    publicKey: t.exposeString("publicKey", { description: "The signing public key, PEM." }),
  }),
});

const AuditCheckpointConnectionRef = countedConnection(
  AuditCheckpointRef,
  "AuditCheckpoint",
  "audit checkpoints",
);

/** Checkpoints describe the whole log: only those who may read all of it see them. */
function requireAuditor(ctx: GraphQLContext): void {
  if (ctx.rights.role !== "AUDITOR" && !ctx.rights.readsAsAdministrator)
    throw deniedQuery("reading audit checkpoints", "registry role AUDITOR or ADMIN");
}

builder.queryFields((t) => ({
  auditCheckpoints: t.prismaConnection(
    {
      type: "AuditCheckpoint",
      cursor: "position",
      description: "The signed checkpoints of the event log, newest first. Readable by AUDITOR and ADMIN.",
      totalCount: (_root, _args, ctx) => {
        requireAuditor(ctx);
        return ctx.reader.auditCheckpoint.count();
      },
      resolve: (query, _root, _args, ctx) => {
        requireAuditor(ctx);
        return ctx.reader.auditCheckpoint.findMany({ ...query, orderBy: { position: "desc" } });
      },
    },
    AuditCheckpointConnectionRef,
  ),
}));
