// `registro teams list|create|add|remove`: teams and their members, for administrators.
import type { Command } from "commander";
import type { TeamView } from "../apiTypes.ts";
import { contextOf } from "../context.ts";
import type { TypedResult } from "../graphqlClient.ts";
import { ERROR_FIELDS, payload } from "../graphqlClient.ts";
import { table } from "../output.ts";

const TEAM = "id name createdAt members { id displayName }";

export function registerTeamsCommand(program: Command): void {
  const teams = program.command("teams").description("teams and their members (ADMIN)");
  teams.command("list").action(async (_options: object, command: Command) => {
    const { client, out } = contextOf(command);
    const data = await client.request<{ teams: TeamView[] }>(`{ teams { ${TEAM} } }`);
    out.result({ teams: data.teams }, () =>
      table(
        ["id", "name", "members"],
        data.teams.map((t) => [t.id, t.name, t.members.map((m) => m.displayName).join(", ") || null]),
      ),
    );
  });
  teams
    .command("create")
    .argument("<name>", "team name")
    .action(async (name: string, _options: object, command: Command) => {
      const { client, out } = contextOf(command);
      const data = await client.request<{ r: TypedResult }>(
        `mutation($input: CreateTeamInput!) { r: createTeam(input: $input) { ${ERROR_FIELDS} ... on TeamPayload { team { ${TEAM} } } } }`,
        { input: { name } },
      );
      const done = payload<{ team: TeamView }>(data.r, "TeamPayload");
      out.result(done, () => `created team ${done.team.name} (${done.team.id})`);
    });
  for (const [name, mutation, input] of [
    ["add", "addTeamMember", "AddTeamMemberInput"],
    ["remove", "removeTeamMember", "RemoveTeamMemberInput"],
  ] as const)
    teams
      .command(name)
      .argument("<teamId>", "team id")
      .argument("<principalId>", "principal id")
      .action(async (teamId: string, principalId: string, _options: object, command: Command) => {
        const { client, out } = contextOf(command);
        const data = await client.request<{ r: TypedResult }>(
          `mutation($input: ${input}!) { r: ${mutation}(input: $input) { ${ERROR_FIELDS} ... on TeamPayload { team { ${TEAM} } } } }`,
          { input: { teamId, principalId } },
        );
        const done = payload<{ team: TeamView }>(data.r, "TeamPayload");
        out.result(
          done,
          () =>
            `team ${done.team.name}: ${done.team.members.map((m) => m.displayName).join(", ") || "no members"}`,
        );
      });
}
