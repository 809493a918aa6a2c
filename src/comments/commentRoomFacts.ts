// A version holds at most LIMITS.maxCommentsPerVersion live comments. The decision state holds only
// the comments a command names, so the rule (./domain/rules.ts) is told how many the version holds:
// counted here, in the command's transaction after the stream's lock (CommandDeps.factsInTransaction),
// so adds racing each other, and adds earlier in the same group commit, are all counted.
import type { CommandDeps } from "../application/executeCommand.ts";
import { rowInt } from "../db/sql.ts";

const FALSE = { sqlite: "0", postgresql: "FALSE" } as const;

/** The command runner's hook: an add gets the version's live comments; other commands pass as they are. */
export const commentRoomFacts: NonNullable<CommandDeps["factsInTransaction"]> = async (
  tx,
  command,
  state,
) => {
  if (command.type !== "AddModelVersionComment" || state.modelId === null) return command;
  const [row] = await tx.query<{ live: unknown }>(
    `SELECT COUNT(*) AS "live" FROM "model_version_comments"
     WHERE "model_id" = ? AND "version" = ? AND "deleted" = ${FALSE[tx.dialect]}`,
    [state.modelId, command.data.version],
  );
  return { ...command, data: { ...command.data, liveComments: rowInt(row?.live ?? 0) } };
};
