// `registro tokens list|create|revoke`: API tokens of the caller (or, for admins, of another principal).
import type { Command } from "commander";
import type { ApiTokenView } from "../apiTypes.ts";
import { contextOf } from "../context.ts";
import { usageError } from "../exitCodes.ts";
import type { TypedResult } from "../graphqlClient.ts";
import { ERROR_FIELDS, payload } from "../graphqlClient.ts";
import { table } from "../output.ts";

const SCOPES = ["READ", "WRITE", "ADMIN"];

export function registerTokensCommand(program: Command): void {
  const tokens = program.command("tokens").description("list, create and revoke API tokens");
  tokens
    .command("list")
    .description("your tokens (without secrets)")
    .action(async (_options: object, command: Command) => {
      const { client, out } = contextOf(command);
      const data = await client.request<{ viewer: { displayName: string; tokens: ApiTokenView[] } }>(
        `{ viewer { displayName tokens { id name prefix scopes createdAt expiresAt lastUsedAt revoked } } }`,
      );
      out.result({ tokens: data.viewer.tokens }, () =>
        table(
          ["id", "name", "prefix", "scopes", "expires", "last used", "revoked"],
          data.viewer.tokens.map((t) => [
            t.id,
            t.name,
            t.prefix,
            t.scopes.join(","),
            t.expiresAt,
            t.lastUsedAt,
            t.revoked,
          ]),
        ),
      );
    });
  tokens
    .command("create")
    .description("create a token; its secret is printed once")
    .argument("<name>", "a name to recognise it by")
    .option("--scope <scope...>", `scopes (${SCOPES.join(", ")})`, ["READ"])
    .option("--expires <date>", "expiry (ISO date, e.g. 2027-01-01T00:00:00Z)")
    .option("--principal <id>", "admins: for this principal")
    .action(
      async (
        name: string,
        options: { scope: string[]; expires?: string; principal?: string },
        command: Command,
      ) => {
        const scopes = options.scope.map((s) => s.toUpperCase());
        const unknown = scopes.filter((s) => !SCOPES.includes(s));
        if (unknown.length)
          throw usageError(`unknown scope ${unknown.join(", ")}; scopes: ${SCOPES.join(", ")}`);
        const { client, out } = contextOf(command);
        const data = await client.request<{ createApiToken: TypedResult }>(
          `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
          ${ERROR_FIELDS} ... on CreateApiTokenPayload { secret token { id name prefix scopes expiresAt } } } }`,
          { input: { name, scopes, expiresAt: options.expires, principalId: options.principal } },
        );
        const created = payload<{ secret: string; token: ApiTokenView }>(
          data.createApiToken,
          "CreateApiTokenPayload",
        );
        out.result(
          created,
          () => `${created.secret}\n(token ${created.token.id}; the secret is shown only now)`,
        );
      },
    );
  tokens
    .command("revoke")
    .argument("<id>", "token id (see `registro tokens list`)")
    .action(async (id: string, _options: object, command: Command) => {
      const { client, out } = contextOf(command);
      const data = await client.request<{ revokeApiToken: TypedResult }>(
        `mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) {
          ${ERROR_FIELDS} ... on ApiTokenPayload { token { id name revoked revokedAt } } } }`,
        { input: { tokenId: id } },
      );
      const revoked = payload<{ token: ApiTokenView }>(data.revokeApiToken, "ApiTokenPayload");
      out.result(revoked, () => `revoked token ${revoked.token.id} (${revoked.token.name})`);
    });
}
