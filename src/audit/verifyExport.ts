// Verifies an NDJSON audit export on its own, without the registry: every line's hash is recomputed
// from the line (the canonical encoding of ./eventHash.ts over the fields it covers and the line's
// previousHash), and wherever two consecutive revisions of a stream are both in the export, the
// later one's previousHash must be the earlier one's hash. An export in either order verifies.
// A line must be exactly the text the exporter writes for its record (ndjsonLine), so a reader of
// the line sees what its hash covers: no key added or repeated, occurredAt in the one form hashed.
// The lines must be in position order, one direction for the whole file, and each stream's
// revisions in that same direction: that refuses a line repeated or moved anywhere in the file
// (its (streamId, revision), and so its hash, which covers both, appear once) while memory holds
// one entry per stream (its last line seen), not the export. A file without events fails.
import { boundedLines } from "../cli/boundedLines.ts";
import { z } from "zod";
import { eventHash, isEventHash, nestedTooDeep } from "./eventHash.ts";
import { hashedFieldsOf, ndjsonLine } from "./exportRecord.ts";
import type { ExportRecord } from "./exportRecord.ts";

const hash = z.string().refine(isEventHash, "a lowercase hex SHA-256");
/** Exactly what Date#toISOString writes (the export's form): the text the hash covers. */
const isIsoInstant = (text: string): boolean => {
  const date = new Date(text);
  return !Number.isNaN(date.getTime()) && date.toISOString() === text;
};

const RECORD = z.strictObject({
  position: z.number().int().positive(),
  streamId: z.string(),
  modelName: z.string().nullable(),
  revision: z.number().int().positive(),
  type: z.string(),
  schemaVersion: z.number().int(),
  occurredAt: z
    .string()
    .refine(isIsoInstant, "a UTC time as the export writes it (2026-01-31T09:30:00.000Z)"),
  actor: z.strictObject({
    name: z.string(),
    id: z.string().nullable(),
    kind: z.string().nullable(),
    credential: z.unknown(),
  }),
  correlationId: z.string().nullable(),
  causationId: z.string().nullable(),
  data: z.unknown(),
  hash,
  previousHash: hash.nullable(),
});

export interface ExportProblem {
  /** 0 for a problem of the file as a whole. */
  readonly line: number;
  readonly message: string;
}

export interface ExportVerification {
  readonly events: number;
  /** Pairs of consecutive revisions found in the export whose link was checked. */
  readonly links: number;
  readonly problems: readonly ExportProblem[];
}

/** Stops listing problems past this many (the count of events still covers the whole file). */
const MAX_PROBLEMS = 100;

interface Seen {
  readonly revision: number;
  readonly hash: string;
  readonly previousHash: string | null;
  readonly line: number;
}

export async function verifyExportLines(lines: AsyncIterable<string>): Promise<ExportVerification> {
  const last = new Map<string, Seen>();
  const problems: ExportProblem[] = [];
  const problem = (line: number, message: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ line, message });
  };
  let events = 0;
  let links = 0;
  let number = 0;
  // The previous record's position and line, and the file's order once two positions are read
  // (1 oldest first, -1 newest first).
  let previous: { readonly position: number; readonly line: number } | null = null;
  let direction = 0;
  for await (const text of lines) {
    number += 1;
    if (text.trim() === "") continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      problem(number, "not JSON");
      continue;
    }
    const result = RECORD.safeParse(parsed);
    if (!result.success) {
      problem(
        number,
        `not an export record: ${result.error.issues[0]?.path.join(".") ?? ""} ${result.error.issues[0]?.message ?? ""}`,
      );
      continue;
    }
    const record = result.data as ExportRecord;
    // Refused before the line is written again or hashed: both walks recurse.
    const tooDeep = nestedTooDeep({ data: record.data, "actor.credential": record.actor.credential });
    if (tooDeep !== null) {
      problem(number, `not an export record: ${tooDeep}`);
      continue;
    }
    if (ndjsonLine(record) !== text) {
      problem(
        number,
        "not written as the export writes it: a key repeated, keys reordered or spacing changed",
      );
      continue;
    }
    events += 1;
    const at = `stream ${record.streamId} revision ${record.revision} (position ${record.position})`;
    if (previous !== null) {
      const step = Math.sign(record.position - previous.position);
      if (step === 0) problem(number, `${at}: repeats the position of line ${previous.line}`);
      else if (direction === 0) direction = step;
      else if (step !== direction)
        problem(
          number,
          `${at}: out of order after position ${previous.position} (line ${previous.line}): a line repeated or moved`,
        );
    }
    previous = { position: record.position, line: number };
    if (record.revision === 1 && record.previousHash !== null)
      problem(number, `${at}: revision 1 has a previousHash`);
    if (record.revision > 1 && record.previousHash === null) problem(number, `${at}: previousHash missing`);
    if (eventHash(hashedFieldsOf(record), record.previousHash) !== record.hash)
      problem(number, `${at}: the hash does not match the line's content: the line was altered`);
    const before = last.get(record.streamId);
    if (before !== undefined) {
      if (before.revision === record.revision) problem(number, `${at}: repeats line ${before.line}`);
      else if (direction !== 0 && Math.sign(record.revision - before.revision) !== direction)
        problem(
          number,
          `${at}: comes after revision ${before.revision} (line ${before.line}), against the file's order: a line repeated or moved`,
        );
      else if (before.revision === record.revision - 1) {
        links += 1;
        if (record.previousHash !== before.hash)
          problem(
            number,
            `${at}: previousHash is not the hash of revision ${before.revision} (line ${before.line})`,
          );
      } else if (before.revision === record.revision + 1) {
        links += 1;
        if (before.previousHash !== record.hash)
          problem(
            before.line,
            `stream ${record.streamId} revision ${before.revision}: previousHash is not the hash of revision ${record.revision} (line ${number})`,
          );
      }
    }
    last.set(record.streamId, {
      revision: record.revision,
      hash: record.hash,
      previousHash: record.previousHash,
      line: number,
    });
  }
  if (events === 0) problem(0, "no events: not an export (an empty file, or a failed download?)");
  return { events, links, problems };
}

export function verifyExportFile(file: string): Promise<ExportVerification> {
  return verifyExportLines(
    (async function* () {
      for await (const { text } of boundedLines(file)) yield text;
    })(),
  );
}
