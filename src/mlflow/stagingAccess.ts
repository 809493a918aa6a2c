// Who may use the staging area of MLflow's artifact proxy. Its files belong to no model yet, so no
// model grant applies: writing is for those who may register models (the rule createRegisteredModel
// uses: registry role MEMBER or ADMIN with a token of `write` scope), reading for the same roles with
// any scope, and for auditors, who read everything. Viewers are refused: in a registry whose models
// are private, the staging area would otherwise show them files before anyone granted access.
// The `_registro/…` view of registered versions follows each model's own permissions instead.
import type { AccessRights } from "../access/modelAccess.ts";
import { MlflowError } from "./mlflowErrors.ts";

export function stagingWriteRefusal(rights: AccessRights): MlflowError | null {
  if (rights.canCreateModels) return null;
  return new MlflowError(
    "PERMISSION_DENIED",
    rights.scopes.has("write")
      ? "Writing files through the artifact proxy needs registry role MEMBER or ADMIN"
      : "Writing files through the artifact proxy needs a token with the write scope",
  );
}

export function stagingReadRefusal(rights: AccessRights): MlflowError | null {
  if (rights.role === "MEMBER" || rights.role === "ADMIN" || rights.role === "AUDITOR") return null;
  return new MlflowError(
    "PERMISSION_DENIED",
    "Reading the artifact proxy's files needs registry role MEMBER, ADMIN or AUDITOR; registered versions are readable under _registro/",
  );
}
