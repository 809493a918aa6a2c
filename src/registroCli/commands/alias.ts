// `registro alias set MODEL ALIAS VERSION` and `registro alias rm MODEL ALIAS`.
import type { Command } from "commander";
import { contextOf } from "../context.ts";
import type { TypedResult } from "../graphqlClient.ts";
import { NOT_FOUND_FIELDS, ERROR_FIELDS, GATE_ERROR_FIELDS, payload } from "../graphqlClient.ts";
import { parseVersionNumber } from "../modelRef.ts";
import { gateError } from "./gateError.ts";

export function registerAliasCommand(program: Command): void {
  const alias = program.command("alias").description("point an alias at a version, or remove it");
  alias
    .command("set")
    .argument("<model>", "model name")
    .argument("<alias>", "alias, e.g. champion")
    .argument("<version>", "version number")
    .option("--override-reason <text>", "point it although artifacts are unsafe or uninspected (recorded)")
    .option("--bypass-reason <text>", "admins: skip the review policy (recorded)")
    .action(
      async (
        model: string,
        name: string,
        versionText: string,
        options: { overrideReason?: string; bypassReason?: string },
        command: Command,
      ) => {
        const version = parseVersionNumber(versionText);
        const { client, out } = contextOf(command);
        const data = await client.request<{ setRegisteredModelAlias: TypedResult }>(
          `mutation($input: SetRegisteredModelAliasInput!) { setRegisteredModelAlias(input: $input) {
            ${ERROR_FIELDS} ${NOT_FOUND_FIELDS} ${GATE_ERROR_FIELDS} ... on ModelVersionPayload { modelVersion { version aliases } events { type } } } }`,
          {
            input: {
              name: model,
              alias: name,
              version,
              overrideReason: options.overrideReason,
              bypassReason: options.bypassReason,
            },
          },
        );
        const result = gateError(data.setRegisteredModelAlias, model, version, `get alias ${name}`);
        const done = payload<{ events: unknown[] }>(result, "ModelVersionPayload");
        out.result(
          { model, alias: name, version, changed: done.events.length > 0 },
          () => `${model}@${name} → version ${version}${done.events.length === 0 ? " (already)" : ""}`,
        );
      },
    );
  alias
    .command("rm")
    .argument("<model>", "model name")
    .argument("<alias>", "alias")
    .option("--bypass-reason <text>", "admins: skip the review policy (recorded)")
    .action(async (model: string, name: string, options: { bypassReason?: string }, command: Command) => {
      const { client, out } = contextOf(command);
      const data = await client.request<{ deleteRegisteredModelAlias: TypedResult }>(
        `mutation($input: DeleteRegisteredModelAliasInput!) { deleteRegisteredModelAlias(input: $input) {
          ${ERROR_FIELDS} ${NOT_FOUND_FIELDS} ... on ApprovalRequiredError { requiredApprovals }
          ... on RegisteredModelPayload { events { type } } } }`,
        { input: { name: model, alias: name, bypassReason: options.bypassReason } },
      );
      const result = gateError(data.deleteRegisteredModelAlias, model, 0, `lose alias ${name}`);
      const done = payload<{ events: unknown[] }>(result, "RegisteredModelPayload");
      out.result({ model, alias: name, removed: done.events.length > 0 }, () =>
        done.events.length > 0 ? `removed ${model}@${name}` : `${model} has no alias ${name} (nothing to do)`,
      );
    });
}
