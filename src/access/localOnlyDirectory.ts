// The directory a registry uses when none is given: it knows only the local administrator (named
// after the OS user, for AUTH=local). It knows no tokens; an SSO identity maps to a transient user
// (id `sso:<issuer>#<subject>`, role VIEWER, no teams) that is not stored anywhere. The access
// context's event-sourced directory replaces it.
import type { Principal, PrincipalDirectory } from "./principal.ts";

export const localAdministratorPrincipal = (osUserName: string): Principal => ({
  id: `local:${osUserName}`,
  kind: "USER",
  displayName: osUserName,
  email: null,
  role: "ADMIN",
  teamIds: [],
});

export const localOnlyDirectory: PrincipalDirectory = {
  verifyToken: () => Promise.resolve(null),
  principalForSso: (claims) =>
    Promise.resolve({
      id: `sso:${claims.issuer}#${claims.subject}`,
      kind: "USER",
      displayName: claims.name ?? claims.email ?? claims.subject,
      email: claims.email,
      role: "VIEWER",
      teamIds: [],
    }),
  localAdministrator: (osUserName) => Promise.resolve(localAdministratorPrincipal(osUserName)),
};
