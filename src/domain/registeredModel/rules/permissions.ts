// Rules of per-model permissions: grants to principals and teams, and their revocation.
import { ValidationError } from "../../errors.ts";
import { granteeKey } from "../../modelPermissions.ts";
import { LIMITS, checkText } from "../../validation.ts";
import type { GrantModelPermission, RevokeModelPermission } from "../commands.ts";
import { onLiveModel } from "./commandRule.ts";
import type { CommandRule } from "./commandRule.ts";

export const grantModelPermission: CommandRule<GrantModelPermission> = onLiveModel({
  errors: [ValidationError],
  decide(command, state) {
    const { grantee, permission } = command.data;
    const error = checkText("grantee.id", grantee.id, LIMITS.granteeIdMaxLength, true);
    if (error) return error;
    const key = granteeKey(grantee);
    const previous = (Object.hasOwn(state.grants, key) ? state.grants[key] : null) ?? null;
    if (previous === permission) return [];
    return [{ type: "ModelPermissionGranted", data: { grantee, permission, previous } }];
  },
});

export const revokeModelPermission: CommandRule<RevokeModelPermission> = onLiveModel({
  errors: [ValidationError],
  decide(command, state) {
    const { grantee } = command.data;
    const key = granteeKey(grantee);
    const held = Object.hasOwn(state.grants, key) ? state.grants[key] : undefined;
    if (held === undefined) return [];
    return [{ type: "ModelPermissionRevoked", data: { grantee, permission: held } }];
  },
});
