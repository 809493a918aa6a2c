// `registro users list|create|role|disable|enable`: principals, for administrators.
import type { Command } from "commander";
import type { PrincipalView } from "../apiTypes.ts";
import { contextOf } from "../context.ts";
import type { TypedResult } from "../graphqlClient.ts";
import { ERROR_FIELDS, payload } from "../graphqlClient.ts";
import { table } from "../output.ts";

const PRINCIPAL = "id displayName email kind role disabled createdAt teams { name }";

export function registerUsersCommand(program: Command): void {
  const users = program.command("users").description("users and service accounts (ADMIN)");
  users
    .command("list")
    .option("--kind <kind>", "USER or SERVICE_ACCOUNT")
    .action(async (options: { kind?: string }, command: Command) => {
      const { client, out } = contextOf(command);
      const data = await client.request<{ principals: PrincipalView[] }>(
        `query($kind: PrincipalKind) { principals(kind: $kind) { ${PRINCIPAL} } }`,
        { kind: options.kind?.toUpperCase() },
      );
      out.result({ principals: data.principals }, () =>
        table(
          ["id", "name", "kind", "role", "disabled", "teams"],
          data.principals.map((p) => [
            p.id,
            p.displayName,
            p.kind,
            p.role,
            p.disabled,
            p.teams.map((t) => t.name).join(",") || null,
          ]),
        ),
      );
    });
  users
    .command("create")
    .argument("<displayName>", "the name shown in history")
    .option("--email <email>", "email")
    .option("--role <role>", "ADMIN, MEMBER, VIEWER or AUDITOR")
    .option("--service-account", "a service account instead of a user")
    .action(
      async (
        displayName: string,
        options: { email?: string; role?: string; serviceAccount?: boolean },
        command: Command,
      ) => {
        const { client, out } = contextOf(command);
        const mutation = options.serviceAccount ? "createServiceAccount" : "createUser";
        const type = options.serviceAccount ? "CreateServiceAccountInput" : "CreateUserInput";
        const data = await client.request<{ r: TypedResult }>(
          `mutation($input: ${type}!) { r: ${mutation}(input: $input) { ${ERROR_FIELDS} ... on PrincipalPayload { principal { ${PRINCIPAL} } } } }`,
          { input: { displayName, email: options.email, role: options.role?.toUpperCase() } },
        );
        const created = payload<{ principal: PrincipalView }>(data.r, "PrincipalPayload");
        out.result(
          created,
          () =>
            `created ${created.principal.kind} ${created.principal.displayName} (${created.principal.id})`,
        );
      },
    );
  users
    .command("role")
    .argument("<id>", "principal id")
    .argument("<role>", "ADMIN, MEMBER, VIEWER or AUDITOR")
    .action(async (id: string, role: string, _options: object, command: Command) => {
      const { client, out } = contextOf(command);
      const data = await client.request<{ r: TypedResult }>(
        `mutation($input: SetPrincipalRoleInput!) { r: setPrincipalRole(input: $input) { ${ERROR_FIELDS} ... on PrincipalPayload { principal { ${PRINCIPAL} } } } }`,
        { input: { principalId: id, role: role.toUpperCase() } },
      );
      const done = payload<{ principal: PrincipalView }>(data.r, "PrincipalPayload");
      out.result(done, () => `${done.principal.displayName} is ${done.principal.role}`);
    });
  for (const [name, mutation] of [
    ["disable", "disablePrincipal"],
    ["enable", "enablePrincipal"],
  ] as const)
    users
      .command(name)
      .argument("<id>", "principal id")
      .action(async (id: string, _options: object, command: Command) => {
        const { client, out } = contextOf(command);
        const input = mutation === "disablePrincipal" ? "DisablePrincipalInput" : "EnablePrincipalInput";
        const data = await client.request<{ r: TypedResult }>(
          `mutation($input: ${input}!) { r: ${mutation}(input: $input) { ${ERROR_FIELDS} ... on PrincipalPayload { principal { ${PRINCIPAL} } } } }`,
          { input: { principalId: id } },
        );
        const done = payload<{ principal: PrincipalView }>(data.r, "PrincipalPayload");
        out.result(
          done,
          () => `${done.principal.displayName} ${done.principal.disabled ? "disabled" : "enabled"}`,
        );
      });
}
