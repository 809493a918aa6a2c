// Artifact: the files of a model version, the `ModelVersion.artifacts` list, the upload mutation
// (GraphQL multipart; the bytes are streamed to the blob store before this resolver runs), and the
// mutations that end a pending registration.
import { GraphQLError } from "graphql";
import { SafeIntResolver } from "graphql-scalars";
import { attachArtifact } from "../../artifacts/artifactService.ts";
import { ARTIFACT_INTEGRITY, artifactIntegrity } from "../../artifacts/blobIntegrity.ts";
import type { ArtifactIntegrity } from "../../artifacts/blobIntegrity.ts";
import { artifactUrl } from "../../artifacts/downloadUrl.ts";
import { ArtifactDigestMismatchError, ArtifactTooLargeError } from "../../artifacts/errors.ts";
import { readUploadToken } from "../../artifacts/uploadTokens.ts";
import { ARTIFACT_ROLES } from "../../domain/artifacts.ts";
import type { ArtifactRole } from "../../domain/artifacts.ts";
import { writeRefusal } from "../../access/scopedReader.ts";
import { DomainError, InvalidStateError, NotFoundError, PermissionDeniedError } from "../../domain/errors.ts";
import { builder } from "../builder.ts";
import { runCommand } from "../commandResult.ts";
import { EXPECTED_REVISION_FIELD, ErrorInterface, commandMutationErrors } from "./errors.ts";
import { ModelVersionPayloadRef } from "./modelVersion.ts";

builder.addScalarType("SafeInt", SafeIntResolver, {
  description:
    "An integer between -(2^53-1) and 2^53-1, e.g. a size in bytes beyond Int's 32 bits (TypeScript: `number`).",
  specifiedByURL: "https://tc39.es/ecma262/#sec-number.issafeinteger",
});

builder.scalarType("Upload", {
  description:
    "A file sent as a part of a GraphQL multipart request. Only valid as a variable of such a request (TypeScript: `File | Blob`; the server never returns one).",
  specifiedByURL: "https://github.com/jaydenseric/graphql-multipart-request-spec",
  serialize: () => {
    throw new GraphQLError("Upload is an input-only scalar");
  },
  parseValue: (value) => {
    const file = readUploadToken(value);
    if (file === null)
      throw new GraphQLError("Upload variables must be file parts of a multipart/form-data request");
    return file;
  },
  parseLiteral: () => {
    throw new GraphQLError("Upload values cannot be literals; send the file as a multipart request variable");
  },
});

const ROLE_DESCRIPTIONS: Record<ArtifactRole, string> = {
  model: "Model weights or graph (e.g. model.onnx, model.safetensors).",
  tokenizer: "Tokenizer definition.",
  encoder: "Feature encoder or preprocessor.",
  vocabulary: "Vocabulary or merges file.",
  config: "Configuration (e.g. config.json).",
  other: "Anything else.",
};

export const ArtifactRoleEnum = builder.enumType("ArtifactRole", {
  description: "What an artifact is for.",
  values: Object.fromEntries(
    ARTIFACT_ROLES.map((role) => [role.toUpperCase(), { value: role, description: ROLE_DESCRIPTIONS[role] }]),
  ) as Record<Uppercase<ArtifactRole>, { value: ArtifactRole; description: string }>,
});

builder.objectType(ArtifactDigestMismatchError, {
  name: "ArtifactDigestMismatchError",
  description: "The uploaded bytes do not hash to the sha256 the client announced; nothing was stored.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    expected: t.exposeString("expected", { description: "The sha256 (hex) the client announced." }),
    actual: t.exposeString("actual", { description: "The sha256 (hex) of the bytes received." }),
  }),
});

// Only HTTP reports it (413), before GraphQL runs; declared so every artifact error has a type.
builder.objectType(ArtifactTooLargeError, {
  name: "ArtifactTooLargeError",
  description: "An upload exceeded the configured size limit (HTTP 413).",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    limit: t.field({ type: "SafeInt", description: "The limit in bytes.", resolve: (e) => e.limit }),
  }),
});

const INTEGRITY_DESCRIPTIONS: Record<ArtifactIntegrity, string> = {
  OK: "The bytes are stored with the recorded size and no check has found them damaged. Every download of the whole file re-hashes it, and `npm run verify` re-hashes everything.",
  CORRUPT:
    "The stored bytes no longer match the artifact's sha256 (a download or `npm run verify` found it, or the size differs). Downloads are refused (HTTP 500 BLOB_CORRUPT) until the identical file is uploaded again (PUT to `downloadUrl`) or verify finds the bytes sound.",
  MISSING:
    "No bytes are stored under the artifact's sha256 (HTTP 500 BLOB_MISSING). Upload the identical file again (PUT to `downloadUrl`) to restore them.",
};

export const ArtifactIntegrityEnum = builder.enumType("ArtifactIntegrity", {
  description:
    "Whether an artifact's stored bytes are intact, as far as the blob store knows without reading them. Shared by every artifact with the same sha256.",
  values: Object.fromEntries(
    ARTIFACT_INTEGRITY.map((value) => [value, { value, description: INTEGRITY_DESCRIPTIONS[value] }]),
  ) as Record<ArtifactIntegrity, { value: ArtifactIntegrity; description: string }>,
});

export const ArtifactRef = builder.prismaObject("ModelVersionArtifact", {
  name: "Artifact",
  description: "A file of a model version. Its bytes are stored once per content, under their sha256.",
  fields: (t) => ({
    path: t.exposeString("path", {
      description: "Relative path inside the version, e.g. `tokenizer/vocab.txt`.",
    }),
    role: t.field({
      type: ArtifactRoleEnum,
      description: "What the file is for.",
      resolve: (a) => a.role as ArtifactRole,
    }),
    size: t.field({
      type: "SafeInt",
      description: "Size in bytes.",
      select: { size: true },
      resolve: (a) => Number(a.size),
    }),
    sha256: t.exposeString("sha256", {
      description: "Lowercase hex sha256 of the content (also its HTTP ETag).",
    }),
    mediaType: t.exposeString("mediaType", { description: "Media type it is served with." }),
    integrity: t.field({
      type: ArtifactIntegrityEnum,
      description:
        "Whether the stored bytes are intact: present, of the recorded size, and not found damaged by a download or `npm run verify`. Asks the blob store on every read (it is not part of the history).",
      select: { sha256: true, size: true },
      resolve: (a, _args, ctx) => artifactIntegrity(ctx.blobs, { sha256: a.sha256, size: Number(a.size) }),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was added." }),
    createdBy: t.exposeString("createdBy", { description: "Identity that added it." }),
    downloadUrl: t.string({
      description:
        "Where to GET the bytes, relative to the server's origin (supports Range, If-None-Match and HEAD).",
      select: { path: true, modelVersion: { select: { version: true, model: { select: { name: true } } } } },
      resolve: (a) => artifactUrl(a.modelVersion.model.name, a.modelVersion.version, a.path),
    }),
  }),
});

builder.prismaObjectField("ModelVersion", "artifacts", (t) =>
  t.relation("artifacts", {
    description: "The version's files, sorted by path. Frozen once the version is READY.",
    query: { orderBy: { path: "asc" } },
  }),
);

// ---- Mutations ----------------------------------------------------------------------------------

interface ArtifactPayload {
  readonly modelId: string;
  readonly version: number;
  readonly path: string;
  readonly positions: readonly number[];
}

const ArtifactPayloadRef = builder.objectRef<ArtifactPayload>("UploadModelVersionArtifactPayload").implement({
  description: "The stored artifact and the event that recorded it.",
  fields: (t) => ({
    artifact: t.prismaField({
      type: "ModelVersionArtifact",
      description: "The artifact as stored.",
      resolve: (query, payload, _args, ctx) =>
        ctx.reader.modelVersionArtifact.findUniqueOrThrow({
          ...query,
          where: {
            modelId_version_path: { modelId: payload.modelId, version: payload.version, path: payload.path },
          },
        }),
    }),
    modelVersion: t.prismaField({
      type: "ModelVersion",
      description: "The version it belongs to, as it is now.",
      resolve: (query, payload, _args, ctx) =>
        ctx.reader.modelVersion.findUniqueOrThrow({
          ...query,
          where: { modelId_version: { modelId: payload.modelId, version: payload.version } },
        }),
    }),
    events: t.prismaField({
      type: ["Event"],
      description: "Events appended by this change, in order.",
      resolve: (query, payload, _args, ctx) =>
        ctx.reader.event.findMany({
          ...query,
          where: { position: { in: [...payload.positions] } },
          orderBy: { position: "asc" },
        }),
    }),
  }),
});

const expectedRevision = EXPECTED_REVISION_FIELD;

builder.mutationFields((t) => ({
  uploadModelVersionArtifact: t.field({
    type: ArtifactPayloadRef,
    description:
      "Adds a file to a PENDING_REGISTRATION version. Send it as a GraphQL multipart request: the file is streamed to storage and hashed before this runs. For large files or scripts, `PUT /artifacts/{model}/{version}/{path}` does the same without GraphQL.",
    // The resolver adds a digest mismatch, and for a withheld file the refusal it stands for
    // (NotFound, PermissionDenied, or InvalidState when the permission changed meanwhile).
    errors: commandMutationErrors("UploadModelVersionArtifact", "AddModelVersionArtifact", [
      ArtifactDigestMismatchError,
      NotFoundError,
      PermissionDeniedError,
      InvalidStateError,
    ]),
    args: {
      input: t.arg({
        description: "The version, where the file goes, and the file.",
        type: builder.inputType("UploadModelVersionArtifactInput", {
          description: "A file for a pending version.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            version: f.int({ description: "Version number (must be PENDING_REGISTRATION)." }),
            path: f.string({
              description:
                "Relative path inside the version (`/`-separated; no `..`, no leading `/`, no `\\`, ≤1,024 characters, ≤32 segments).",
            }),
            role: f.field({
              type: ArtifactRoleEnum,
              required: false,
              description: "What the file is for (default: guessed from the path).",
            }),
            mediaType: f.string({
              required: false,
              description:
                "Media type to serve it with (default: the part's type, or guessed from the path).",
            }),
            sha256: f.string({
              required: false,
              description:
                "Expected sha256 (hex); a mismatch stores nothing and returns ArtifactDigestMismatchError.",
            }),
            file: f.field({ type: "Upload", description: "The file (a multipart file part)." }),
            expectedRevision: f.int(expectedRevision),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const file = input.file;
      // A token counts only in the multipart request that issued it (../../artifacts/uploadTokens.ts).
      if (file.request !== ctx.uploadRequest)
        throw new GraphQLError("Upload variables must be file parts of this multipart/form-data request", {
          extensions: { code: "BAD_USER_INPUT", field: "file" },
        });
      if (file.kind === "digestMismatch") throw new ArtifactDigestMismatchError(file.expected, file.actual);
      if (file.kind === "withheld")
        // Not stored because the caller may not write there: the same refusal as without a file.
        throw (
          (await writeRefusal(ctx, input.name, "uploading an artifact")) ??
          new InvalidStateError(
            "the file was not stored (the caller's permission changed meanwhile); upload it again",
          )
        );
      const expected = input.sha256?.toLowerCase();
      if (expected !== undefined && expected !== file.sha256)
        throw new ArtifactDigestMismatchError(expected, file.sha256);
      const declared = input.mediaType ?? (file.mediaType === "" ? null : file.mediaType);
      const attached = await attachArtifact(
        ctx.commands,
        ctx.inspector,
        {
          modelName: input.name,
          version: input.version,
          path: input.path,
          role: input.role ?? null,
          mediaType: declared,
        },
        file,
        ctx,
        input.expectedRevision ?? undefined,
      );
      if (attached instanceof DomainError) throw attached;
      return {
        modelId: attached.outcome.modelId,
        version: input.version,
        path: input.path,
        positions: attached.outcome.events.map((e) => e.position),
      };
    },
  }),

  finalizeModelVersion: t.field({
    type: ModelVersionPayloadRef,
    description:
      "Completes a PENDING_REGISTRATION version: it becomes READY and its artifact set is frozen (what is promoted is exactly what is served). Needs at least one artifact. A READY version changes nothing.",
    errors: commandMutationErrors("FinalizeModelVersion", "FinalizeModelVersion"),
    args: {
      input: t.arg({
        description: "The version to finalize.",
        type: builder.inputType("FinalizeModelVersionInput", {
          description: "Identifies a pending version.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            version: f.int({ description: "Version number." }),
            expectedRevision: f.int(expectedRevision),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "FinalizeModelVersion", data: { version: input.version } },
        input.expectedRevision,
        input.version,
      ),
  }),

  failModelVersionRegistration: t.field({
    type: ModelVersionPayloadRef,
    description:
      "Abandons a PENDING_REGISTRATION version: it becomes FAILED_REGISTRATION and can never be promoted. Its artifacts stay in its history and in storage, like a deleted version's. A FAILED_REGISTRATION version changes nothing (its first reason stays).",
    errors: commandMutationErrors("FailModelVersionRegistration", "FailModelVersionRegistration"),
    args: {
      input: t.arg({
        description: "The version and why it failed.",
        type: builder.inputType("FailModelVersionRegistrationInput", {
          description: "Identifies a pending version.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            version: f.int({ description: "Version number." }),
            reason: f.string({
              required: false,
              description: "Why (kept in history, up to 5,000 characters).",
            }),
            expectedRevision: f.int(expectedRevision),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runCommand(
        ctx,
        { kind: "live", name: input.name },
        {
          type: "FailModelVersionRegistration",
          data: { version: input.version, reason: input.reason ?? null },
        },
        input.expectedRevision,
        input.version,
      ),
  }),
}));
