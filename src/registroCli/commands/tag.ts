// `registro tag set MODEL[/VERSION] KEY=VALUE…` and `registro tag rm MODEL[/VERSION] KEY…`: model tags,
// or a version's tags when a version is given.
import type { Command } from "commander";
import { contextOf } from "../context.ts";
import { usageError } from "../exitCodes.ts";
import type { TypedResult } from "../graphqlClient.ts";
import { NOT_FOUND_FIELDS, ERROR_FIELDS, payload } from "../graphqlClient.ts";
import { splitPair } from "../keyValues.ts";
import { parseVersionRef } from "../modelRef.ts";

function target(ref: string): { model: string; version: number | null } {
  const parsed = parseVersionRef(ref);
  if (parsed.kind === "latest") return { model: parsed.model, version: null };
  if (parsed.kind === "version") return { model: parsed.model, version: parsed.version };
  throw usageError(`tag takes MODEL or MODEL/VERSION, not ${JSON.stringify(ref)}`);
}

export function registerTagCommand(program: Command): void {
  const tag = program
    .command("tag")
    .description("set or remove tags of a model (MODEL) or a version (MODEL/VERSION)");
  tag
    .command("set")
    .argument("<ref>", "MODEL or MODEL/VERSION")
    .argument("<pairs...>", "key=value")
    .action(async (ref: string, pairs: string[], _options: object, command: Command) => {
      const { model, version } = target(ref);
      const tags = pairs.map((p) => splitPair(p, "tag"));
      const { client, out } = contextOf(command);
      for (const [key, value] of tags) {
        const data =
          version === null
            ? (
                await client.request<{ r: TypedResult }>(
                  `mutation($input: SetRegisteredModelTagInput!) { r: setRegisteredModelTag(input: $input) { ${ERROR_FIELDS} ${NOT_FOUND_FIELDS} } }`,
                  { input: { name: model, key, value } },
                )
              ).r
            : (
                await client.request<{ r: TypedResult }>(
                  `mutation($input: SetModelVersionTagInput!) { r: setModelVersionTag(input: $input) { ${ERROR_FIELDS} ${NOT_FOUND_FIELDS} } }`,
                  { input: { name: model, version, key, value } },
                )
              ).r;
        payload(data, version === null ? "RegisteredModelPayload" : "ModelVersionPayload");
      }
      out.result(
        { model, version, set: Object.fromEntries(tags) },
        () => `${ref}: ${tags.map(([k, v]) => `${k}=${v}`).join(", ")}`,
      );
    });
  tag
    .command("rm")
    .argument("<ref>", "MODEL or MODEL/VERSION")
    .argument("<keys...>", "tag keys")
    .action(async (ref: string, keys: string[], _options: object, command: Command) => {
      const { model, version } = target(ref);
      const { client, out } = contextOf(command);
      for (const key of keys) {
        const data =
          version === null
            ? (
                await client.request<{ r: TypedResult }>(
                  `mutation($input: DeleteRegisteredModelTagInput!) { r: deleteRegisteredModelTag(input: $input) { ${ERROR_FIELDS} ${NOT_FOUND_FIELDS} } }`,
                  { input: { name: model, key } },
                )
              ).r
            : (
                await client.request<{ r: TypedResult }>(
                  `mutation($input: DeleteModelVersionTagInput!) { r: deleteModelVersionTag(input: $input) { ${ERROR_FIELDS} ${NOT_FOUND_FIELDS} } }`,
                  { input: { name: model, version, key } },
                )
              ).r;
        payload(data, version === null ? "RegisteredModelPayload" : "ModelVersionPayload");
      }
      out.result({ model, version, removed: keys }, () => `${ref}: removed ${keys.join(", ")}`);
    });
}
