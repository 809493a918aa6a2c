// Random commands on one model stream, biased towards the interesting cases (archiving, moving
// aliases, deleted versions) and including invalid ones, so sequences exercise refusals too.
import type { InspectionOutcome, Verdict } from "../../src/domain/inspection.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { STAGES } from "../../src/domain/registeredModel/events.ts";
import type { Random } from "./random.ts";

const TAG_KEYS = ["team", "owner", "tier", ""];
// "tok" clashes with the folder of "tok/vocab.txt"; "../x" is not a valid path.
const ARTIFACT_PATHS = ["model.bin", "config.json", "tok/vocab.txt", "tok", "../x"];
const ALIASES = ["champion", "challenger", "shadow", "latest", "9bad"];
export const MODEL_NAMES = ["fraud", "churn", "ranker", "bad/name", "forecast"];

/** Any command except CreateRegisteredModel; `lastVersion` is a hint for picking version numbers. */
export function randomStreamCommand(rng: Random, lastVersion: number): RegisteredModelCommand {
  const version = rng.chance(0.9) ? rng.int(1, Math.max(1, lastVersion)) : rng.int(0, lastVersion + 2);
  // Registration happens right after creation, so artifact commands mostly address the newest version.
  if (rng.chance(0.1))
    return randomArtifactCommand(rng, rng.chance(0.7) ? Math.max(1, lastVersion) : version);
  if (rng.chance(0.04)) return randomInspectionCommand(rng, version);
  if (rng.chance(0.05)) return randomDeploymentCommand(rng, version);
  if (rng.chance(0.05)) return randomCommentCommand(rng, version);
  if (rng.chance(0.08)) return randomReviewCommand(rng, version);
  const roll = rng.int(0, 99);
  if (roll < 22)
    return {
      type: "CreateModelVersion",
      data: {
        source: rng.chance(0.95) ? `s3://bucket/run-${rng.int(1, 999)}` : "",
        runId: rng.chance(0.5) ? `run-${rng.int(1, 99)}` : null,
        description: rng.chance(0.3) ? "trained nightly" : "",
        tags: rng.chance(0.4) ? [{ key: "framework", value: rng.pick(["xgboost", "torch"]) }] : [],
        params: { depth: rng.int(1, 12), lr: rng.int(1, 100) / 1000 },
        metrics: [{ key: "auc", value: rng.chance(0.97) ? rng.int(500, 999) / 1000 : Number.NaN }],
        pendingArtifacts: rng.chance(0.15),
      },
    };
  if (roll < 40)
    return {
      type: "TransitionModelVersionStage",
      data: {
        version,
        stage: rng.pick(STAGES),
        comment: rng.chance(0.3) ? "promoted by CI" : null,
        archiveExistingVersions: rng.chance(0.6),
        overrideReason: randomOverrideReason(rng),
      },
    };
  if (roll < 50)
    return {
      type: "SetRegisteredModelAlias",
      data: { alias: rng.pick(ALIASES), version, overrideReason: randomOverrideReason(rng) },
    };
  if (roll < 54) return { type: "DeleteRegisteredModelAlias", data: { alias: rng.pick(ALIASES) } };
  if (roll < 60) return { type: "DeleteModelVersion", data: { version } };
  if (roll < 64) return { type: "RestoreModelVersion", data: { version } };
  if (roll < 68)
    return {
      type: "SetModelVersionTag",
      data: { version, key: rng.pick(TAG_KEYS), value: `v${rng.int(1, 9)}` },
    };
  if (roll < 71)
    return { type: "DeleteModelVersionTag", data: { version, key: rng.pick(["framework", ...TAG_KEYS]) } };
  if (roll < 74)
    return { type: "UpdateModelVersion", data: { version, description: `note ${rng.int(1, 99)}` } };
  if (roll < 78)
    return {
      type: "LogModelVersionMetrics",
      data: { version, metrics: [{ key: rng.pick(["f1", "auc"]), value: rng.int(0, 100) / 100 }] },
    };
  if (roll < 83)
    return { type: "SetRegisteredModelTag", data: { key: rng.pick(TAG_KEYS), value: `v${rng.int(1, 9)}` } };
  if (roll < 86) return { type: "DeleteRegisteredModelTag", data: { key: rng.pick(TAG_KEYS) } };
  if (roll < 89) return { type: "UpdateRegisteredModel", data: { description: `about ${rng.int(1, 99)}` } };
  if (roll < 93) {
    const newName = rng.chance(0.5) ? rng.pick(MODEL_NAMES) : `${rng.pick(MODEL_NAMES)}-${rng.int(2, 9)}`;
    return { type: "RenameRegisteredModel", data: { newName } };
  }
  if (roll < 97) return { type: "DeleteRegisteredModel", data: {} };
  return { type: "RestoreRegisteredModel", data: {} };
}

/** Comments from a small pool of ids, so edits and deletes meet them (and adds run again). */
const COMMENT_IDS = ["comment-1", "comment-2", "comment-3", "comment-4"];
const COMMENT_BODIES = ["LGTM", "**needs** a rerun", "LGTM", " "];

function randomCommentCommand(rng: Random, version: number): RegisteredModelCommand {
  const commentId = rng.pick(COMMENT_IDS);
  const roll = rng.int(0, 9);
  if (roll < 4)
    return {
      type: "AddModelVersionComment",
      data: { commentId, version, body: rng.pick(COMMENT_BODIES), authorId: "author-1", liveComments: 0 },
    };
  if (roll < 8)
    return { type: "EditModelVersionComment", data: { commentId, body: rng.pick(COMMENT_BODIES) } };
  return { type: "DeleteModelVersionComment", data: { commentId } };
}

/** Few environments and endpoints, so records repeat (no event), move, retire and meet deletions. */
const ENVIRONMENTS = ["prod-eu", "prod-us", "staging", "Prod EU"];
const ENDPOINTS = [
  "https://serve.example/fraud",
  "https://serve.example/fraud-v2",
  "ftp://nope",
  "http://u:p@h/",
];

function randomDeploymentCommand(rng: Random, version: number): RegisteredModelCommand {
  const environment = rng.pick(ENVIRONMENTS);
  // Retirements outnumber records, so deployments do not pile up and block most deletions.
  if (rng.chance(0.4))
    return {
      type: "RecordModelVersionDeployment",
      data: {
        version,
        environment,
        endpoint: rng.chance(0.8) ? rng.pick(ENDPOINTS.slice(0, 2)) : rng.pick(ENDPOINTS),
        description: rng.chance(0.3) ? "canary 5%" : null,
      },
    };
  return {
    type: "RetireModelVersionDeployment",
    data: { version, environment, reason: rng.chance(0.5) ? "rolled back" : null },
  };
}

const REVIEWERS = ["alice", "bob", "carol"];
const PROTECTABLE_ALIASES = ["champion", "challenger"];
/**
 * Per random sequence: the ids of the review requests it opened lately (the server makes them
 * unique) and its count. Kept with the sequence, not in the module: test files share this module
 * in a worker (the unit tier runs without isolation), and a sequence must make the same commands
 * from its seed whatever ran before it.
 */
const reviewRequests = new WeakMap<Random, { opened: string[]; count: number }>();

/** Review policies, requests, approvals (some ineligible), rejections, cancellations and bypasses. */
export function randomReviewCommand(rng: Random, version: number): RegisteredModelCommand {
  let requests = reviewRequests.get(rng);
  if (requests === undefined) reviewRequests.set(rng, (requests = { opened: [], count: 0 }));
  const openedIds = requests.opened;
  const roll = rng.int(0, 99);
  const requestId = () => (openedIds.length > 0 && rng.chance(0.9) ? rng.pick(openedIds) : "req-unknown");
  const reviewer = () => ({ reviewerId: rng.pick(REVIEWERS), teamIds: rng.chance(0.3) ? ["risk"] : [] });
  if (roll < 12)
    return {
      type: "SetModelReviewPolicy",
      data: {
        rules: rng.chance(0.1)
          ? []
          : [
              {
                stage: "Production",
                requiredApprovals: rng.chance(0.95) ? rng.int(1, 2) : 0,
                reviewers: [
                  { kind: "PRINCIPAL", id: "bob" },
                  { kind: "TEAM", id: "risk" },
                ],
                allowSelfApproval: rng.chance(0.3),
              },
              ...(rng.chance(0.6)
                ? [
                    {
                      aliasPattern: rng.chance(0.95) ? "champ*" : "bad.*",
                      requiredApprovals: 1,
                      reviewers: [{ kind: "PRINCIPAL" as const, id: "carol" }],
                      allowSelfApproval: false,
                    },
                  ]
                : []),
            ],
      },
    };
  if (roll < 40) {
    const id = `req-${++requests.count}`;
    openedIds.push(id);
    if (openedIds.length > 8) openedIds.shift();
    return {
      type: "OpenReviewRequest",
      data: {
        requestId: id,
        version,
        target: rng.chance(0.7)
          ? {
              kind: "STAGE",
              stage: rng.pick(["Production", "Staging"] as const),
              archiveExistingVersions: rng.chance(0.3),
            }
          : { kind: "ALIAS", alias: rng.pick(PROTECTABLE_ALIASES) },
        reason: rng.chance(0.95) ? "better recall" : " ",
        requesterId: rng.pick(REVIEWERS),
      },
    };
  }
  if (roll < 75)
    return {
      type: "ApproveReviewRequest",
      data: {
        requestId: requestId(),
        comment: rng.chance(0.5) ? "ok" : "",
        lapsedApprovers: [],
        ...reviewer(),
      },
    };
  if (roll < 82)
    return {
      type: "RejectReviewRequest",
      data: { requestId: requestId(), comment: rng.chance(0.9) ? "not yet" : "", ...reviewer() },
    };
  if (roll < 88)
    return { type: "CancelReviewRequest", data: { requestId: requestId(), reason: "changed my mind" } };
  if (roll < 94)
    return {
      type: "TransitionModelVersionStage",
      data: {
        version,
        stage: "Production",
        comment: null,
        archiveExistingVersions: rng.chance(0.5),
        bypassReason: rng.chance(0.9) ? "incident" : " ",
        overrideReason: randomOverrideReason(rng),
      },
    };
  if (roll < 97)
    return {
      type: "SetRegisteredModelAlias",
      data: {
        alias: rng.pick(PROTECTABLE_ALIASES),
        version,
        bypassReason: "incident",
        overrideReason: randomOverrideReason(rng),
      },
    };
  return {
    type: "DeleteRegisteredModelAlias",
    data: { alias: rng.pick(PROTECTABLE_ALIASES), bypassReason: rng.chance(0.5) ? "incident" : null },
  };
}

/** Registration of a version's files: add (some clashing or invalid), finalize, or give up. */
function randomArtifactCommand(rng: Random, version: number): RegisteredModelCommand {
  const roll = rng.int(0, 9);
  if (roll < 6)
    return {
      type: "AddModelVersionArtifact",
      data: {
        version,
        path: rng.pick(ARTIFACT_PATHS),
        role: rng.pick(["model", "config", "other"] as const),
        size: rng.int(0, 1 << 20),
        sha256: rng.chance(0.95) ? rng.int(0, 15).toString(16).repeat(64) : "not-a-hash",
        mediaType: "application/octet-stream",
        inspection: rng.chance(0.7) ? randomInspection(rng) : null,
      },
    };
  if (roll < 9) return { type: "FinalizeModelVersion", data: { version } };
  return {
    type: "FailModelVersionRegistration",
    data: { version, reason: rng.chance(0.5) ? "upload abandoned" : null },
  };
}

const VERDICTS: Verdict[] = ["SAFE", "SAFE", "SUSPICIOUS", "DANGEROUS", "UNSCANNABLE"];

/** Mostly none; sometimes a reason, sometimes a blank one (refused). */
function randomOverrideReason(rng: Random): string | null {
  if (!rng.chance(0.25)) return null;
  return rng.chance(0.8) ? "reviewed by security" : " ";
}

function randomInspection(rng: Random): InspectionOutcome {
  const verdict = rng.pick(VERDICTS);
  return {
    format: rng.pick(["ONNX", "PICKLE", "UNKNOWN"]),
    formatVersion: rng.chance(0.5) ? String(rng.int(1, 9)) : null,
    producer: rng.chance(0.5) ? { framework: "pytorch", version: "2.1.0" } : null,
    metadata: { nodeCount: rng.int(0, 9) },
    verdict,
    findings:
      verdict === "SAFE"
        ? []
        : [{ severity: "HIGH", message: `${verdict} finding`, location: `@offset ${rng.int(0, 99)}` }],
    signature: rng.chance(0.4)
      ? {
          inputs: [{ name: "x", dtype: "float32", shape: ["batch", rng.int(1, 4)] }],
          outputs: [{ name: "y", dtype: null, shape: null }],
        }
      : null,
    inspector: { version: "1.0.0" },
  };
}

/** Re-inspection (bytes often mismatching, so refused) or a user signature (sometimes invalid). */
function randomInspectionCommand(rng: Random, version: number): RegisteredModelCommand {
  if (rng.chance(0.5))
    return {
      type: "InspectModelVersionArtifacts",
      data: {
        version,
        inspections: [
          {
            ...randomInspection(rng),
            path: rng.pick(ARTIFACT_PATHS),
            sha256: rng.int(0, 15).toString(16).repeat(64),
          },
        ],
      },
    };
  return {
    type: "SetModelVersionSignature",
    data: {
      version,
      signature: {
        inputs: [{ name: rng.chance(0.9) ? "features" : "", dtype: "float32", shape: [1, rng.int(1, 64)] }],
        outputs: [],
      },
    },
  };
}

const GRANTEES = [
  { kind: "PRINCIPAL", id: "alice" },
  { kind: "PRINCIPAL", id: "bob" },
  { kind: "TEAM", id: "risk" },
  { kind: "TEAM", id: "" },
] as const;

/** Grants and revocations, some of an empty grantee id (refused). */
export function randomPermissionCommand(rng: Random): RegisteredModelCommand {
  const grantee = rng.pick(GRANTEES);
  if (rng.chance(0.4)) return { type: "RevokeModelPermission", data: { grantee } };
  return {
    type: "GrantModelPermission",
    data: { grantee, permission: rng.pick(["READ", "EDIT", "MANAGE"] as const) },
  };
}

/** Text PostgreSQL cannot store, and text no client should send: every rule must refuse it typed. */
const HOSTILE_TEXT = ["nul\u0000", "\ud800lone", "x".repeat(70_000), ""];

/** The command with one of its strings (at any depth) replaced by hostile text. */
export function withHostileText(rng: Random, command: RegisteredModelCommand): RegisteredModelCommand {
  const data = structuredClone(command.data) as Record<string, unknown>;
  const slots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value))
      value.forEach((item, i) =>
        typeof item === "string" ? slots.push({ parent: value, key: i }) : walk(item),
      );
    else if (value !== null && typeof value === "object")
      for (const [key, item] of Object.entries(value as Record<string, unknown>))
        if (typeof item === "string") slots.push({ parent: value as Record<string, unknown>, key });
        else walk(item);
  };
  walk(data);
  if (slots.length === 0) return command;
  const { parent, key } = rng.pick(slots);
  (parent as Record<string | number, unknown>)[key] = rng.pick(HOSTILE_TEXT);
  return { ...command, data } as RegisteredModelCommand;
}

/**
 * A version number no rule should accept. `int32Only` keeps to what a GraphQL Int can carry (the
 * application loads versions by number before the rules see them).
 */
export function withOddVersion(
  rng: Random,
  command: RegisteredModelCommand,
  int32Only: boolean,
): RegisteredModelCommand {
  if (!("version" in command.data)) return command;
  const odd = int32Only
    ? [0, -1, 2_147_483_647]
    : [0, -1, 1.5, 2_147_483_647, Number.MAX_SAFE_INTEGER + 2, Number.NaN];
  return { ...command, data: { ...command.data, version: rng.pick(odd) } } as RegisteredModelCommand;
}

/** Any stream command, or a grant or revocation, a fifth of them made hostile. */
export function randomHostileCommand(
  rng: Random,
  lastVersion: number,
  int32Only: boolean,
): RegisteredModelCommand {
  const command = rng.chance(0.08) ? randomPermissionCommand(rng) : randomStreamCommand(rng, lastVersion);
  const roll = rng.int(0, 99);
  if (roll < 12) return withHostileText(rng, command);
  if (roll < 20) return withOddVersion(rng, command, int32Only);
  return command;
}
