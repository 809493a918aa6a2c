// A member service account with a READ+WRITE token, made through the public API by an administrator:
// the "another principal" most end-to-end tests of permissions need.
import type { TestServer } from "./server.ts";

type Gql = TestServer["gql"];

export interface ServiceAccount {
  readonly id: string;
  /** Headers that authenticate as it. */
  readonly headers: Record<string, string>;
}

export async function createServiceAccount(
  gql: Gql,
  displayName: string,
  adminHeaders: Record<string, string> = {},
): Promise<ServiceAccount> {
  const created = await gql(
    `mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) {
      __typename ... on PrincipalPayload { principal { id } } } }`,
    { input: { displayName, role: "MEMBER" } },
    adminHeaders,
  );
  const id = created.data?.createServiceAccount?.principal?.id as string | undefined;
  if (id === undefined) throw new Error(`creating ${displayName} failed: ${JSON.stringify(created)}`);
  const token = await gql(
    `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
      __typename ... on CreateApiTokenPayload { secret } } }`,
    { input: { principalId: id, name: `${displayName}-token`, scopes: ["READ", "WRITE"] } },
    adminHeaders,
  );
  const secret = token.data?.createApiToken?.secret as string | undefined;
  if (secret === undefined) throw new Error(`a token for ${displayName} failed: ${JSON.stringify(token)}`);
  return { id, headers: { authorization: `Bearer ${secret}` } };
}
