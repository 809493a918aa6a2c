// The team aggregate: a name and its members. Membership changes are idempotent (SSO re-sends groups).
import { InvalidStateError } from "../../domain/errors.ts";
import type { DomainError } from "../../domain/errors.ts";
import type { MembershipSource, TeamEvent } from "./events.ts";
import { checkTeamName } from "./validation.ts";

export type TeamCommand =
  | { readonly type: "CreateTeam"; readonly data: { readonly teamId: string; readonly name: string } }
  | { readonly type: "RenameTeam"; readonly data: { readonly name: string } }
  | {
      readonly type: "AddTeamMember";
      readonly data: { readonly principalId: string; readonly source: MembershipSource };
    }
  | { readonly type: "RemoveTeamMember"; readonly data: { readonly principalId: string } };

export interface TeamState {
  readonly id: string;
  readonly name: string;
  readonly members: readonly string[];
}

export function evolveTeam(state: TeamState | null, event: TeamEvent): TeamState | null {
  switch (event.type) {
    case "TeamCreated":
      return { id: event.data.teamId, name: event.data.name, members: [] };
    case "TeamRenamed":
      return state && { ...state, name: event.data.to };
    case "TeamMemberAdded":
      return state && { ...state, members: [...state.members, event.data.principalId] };
    case "TeamMemberRemoved":
      return state && { ...state, members: state.members.filter((m) => m !== event.data.principalId) };
  }
}

export function decideTeam(command: TeamCommand, state: TeamState | null): TeamEvent[] | DomainError {
  if (command.type === "CreateTeam") {
    if (state !== null) return new InvalidStateError(`team ${state.name} already exists`);
    return checkTeamName("name", command.data.name) ?? [{ type: "TeamCreated", data: { ...command.data } }];
  }
  if (state === null) return new InvalidStateError("the team does not exist");
  switch (command.type) {
    case "RenameTeam": {
      const invalid = checkTeamName("name", command.data.name);
      if (invalid) return invalid;
      return command.data.name === state.name
        ? []
        : [{ type: "TeamRenamed", data: { from: state.name, to: command.data.name } }];
    }
    case "AddTeamMember":
      return state.members.includes(command.data.principalId)
        ? []
        : [
            {
              type: "TeamMemberAdded",
              data: { principalId: command.data.principalId, source: command.data.source },
            },
          ];
    case "RemoveTeamMember":
      return state.members.includes(command.data.principalId)
        ? [{ type: "TeamMemberRemoved", data: { principalId: command.data.principalId } }]
        : [];
  }
}
