// `registro promote MODEL VERSION STAGE`: a stage transition, refused by the safety gate (exit 5)
// or the review policy (exit 4) with what blocks it and how to proceed.
import type { Command } from "commander";
import { contextOf } from "../context.ts";
import type { TypedResult } from "../graphqlClient.ts";
import { NOT_FOUND_FIELDS, ERROR_FIELDS, GATE_ERROR_FIELDS, payload } from "../graphqlClient.ts";
import { parseStage, parseVersionNumber } from "../modelRef.ts";
import { gateError } from "./gateError.ts";

interface PromoteOptions {
  archiveExisting?: boolean;
  comment?: string;
  overrideReason?: string;
  bypassReason?: string;
}

export function registerPromoteCommand(program: Command): void {
  program
    .command("promote")
    .description("move a version to a stage (None, Staging, Production, Archived)")
    .argument("<model>", "model name")
    .argument("<version>", "version number")
    .argument("<stage>", "None, Staging, Production or Archived")
    .option("--archive-existing", "move the other versions in that stage to Archived")
    .option("--comment <text>", "why, recorded in history")
    .option("--override-reason <text>", "promote although artifacts are unsafe or uninspected (recorded)")
    .option("--bypass-reason <text>", "admins: skip the review policy (recorded)")
    .action(
      async (
        model: string,
        versionText: string,
        stageText: string,
        options: PromoteOptions,
        command: Command,
      ) => {
        const version = parseVersionNumber(versionText);
        const stage = parseStage(stageText);
        const { client, out } = contextOf(command);
        const data = await client.request<{ transitionModelVersionStage: TypedResult }>(
          `mutation($input: TransitionModelVersionStageInput!) { transitionModelVersionStage(input: $input) {
          ${ERROR_FIELDS} ${NOT_FOUND_FIELDS} ${GATE_ERROR_FIELDS}
          ... on ModelVersionPayload { modelVersion { version stage } archivedVersions { version } events { type } } } }`,
          {
            input: {
              name: model,
              version,
              stage,
              archiveExistingVersions: options.archiveExisting === true,
              comment: options.comment,
              overrideReason: options.overrideReason,
              bypassReason: options.bypassReason,
            },
          },
        );
        const result = gateError(data.transitionModelVersionStage, model, version, `move to ${stage}`);
        const done = payload<{
          modelVersion: { version: number; stage: string };
          archivedVersions: { version: number }[];
          events: { type: string }[];
        }>(result, "ModelVersionPayload");
        out.result(
          {
            model,
            version,
            stage: done.modelVersion.stage,
            archivedVersions: done.archivedVersions.map((v) => v.version),
            changed: done.events.length > 0,
          },
          () =>
            `${model} version ${version} is in ${done.modelVersion.stage}${done.events.length === 0 ? " (already)" : ""}` +
            (done.archivedVersions.length
              ? `; archived ${done.archivedVersions.map((v) => v.version).join(", ")}`
              : ""),
        );
      },
    );
}
