// Attributes a V8 CPU profile (`node --cpu-prof`, e.g. from bench/coreCpu.ts) to the phases of a
// request: each busy sample goes to the first frame, from the leaf up, that belongs to a phase
// (node: frames belong to none, so Node's HTTP code called by whatwg-node counts as whatwg-node's;
// a sample with no phase frame at all is Node's own HTTP, socket, stream and timer work). Native
// calls (better-sqlite3's statements) are sampled in the JavaScript function that made them.
// Run: node --import tsx bench/profilePhases.ts <file.cpuprofile> [skip seconds | auto] [requests]
import { readFileSync } from "node:fs";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export const RULES: readonly (readonly [RegExp, string])[] = [
  [/src\/db\/(sql|statements)\.ts|better-sqlite3/, "SQLite: the command's statements"],
  [/src\/db\/(database|walCheckpointer)\.ts/, "SQLite: BEGIN/COMMIT (+ fsync), group commit, checkpoints"],
  [/src\/store\/|src\/audit\/|canonicalize/, "event store and hash chain"],
  [/src\/domain\/|src\/projections\/|\/zod\//, "decide, evolve, projections, zod"],
  [/src\/application\//, "command runner (executeCommand)"],
  [/src\/subscriptions\//, "subscriptions (after the commit)"],
  [/src\/webhooks\//, "webhook worker (after the commit)"],
  [/src\/usage\//, "usage tracking"],
  [/@envelop\/prometheus|prom-client|src\/monitoring\//, "metrics and the request log line"],
  [/\/pino|src\/logger/, "logging (pino)"],
  [/src\/access\//, "authentication and access checks"],
  [/@pothos\//, "Pothos (field wrappers, prisma selection mapping)"],
  [/@prisma\/|src\/db\/generated/, "Prisma"],
  [
    /graphql\/(language|validation)\/|parser-and-validation-cache|src\/http\/(documentCache|nestingLimit|operationLimits|persistedQueries)/,
    "GraphQL parse + validation (cached), operation limits",
  ],
  [/graphql\/|@graphql-tools\/|graphql-yoga\/esm\/plugins\/result-processor/, "GraphQL execution and result"],
  [
    /@whatwg-node\/|graphql-yoga|@envelop\/|@graphql-yoga\//,
    "Yoga + whatwg-node (Request/Response, plugins)",
  ],
  [/src\/http\/|src\/graphql\//, "Registro's HTTP glue, resolvers, context"],
  [/\/tsx\/|node:internal\/modules/, "module loading"],
  [/node_modules\//, "other libraries"],
  [/src\//, "other Registro code"],
];

/**
 * Busy time by phase, leaving out the samples before `skipSeconds`, or with "auto" before the first
 * command ran (the server's start: module loading, migrations).
 */
export function phases(profile: Profile, skipSeconds: number | "auto" = 0): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const phaseOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = phaseOf.get(id);
    if (known !== undefined) return known;
    const leaf = byId.get(id)!.callFrame.functionName;
    let phase: string | null =
      leaf === "(garbage collector)"
        ? "garbage collection"
        : leaf === "(program)"
          ? "V8 / native (program)"
          : null;
    for (let at: number | undefined = id; phase === null && at !== undefined; at = parent.get(at)) {
      const { url } = byId.get(at)!.callFrame;
      if (url === "" || url.startsWith("node:")) continue;
      phase = RULES.find(([pattern]) => pattern.test(url))?.[1] ?? "other";
    }
    phase ??= "Node HTTP, sockets, streams, timers";
    phaseOf.set(id, phase);
    return phase;
  };
  let skipUs = skipSeconds === "auto" ? Infinity : skipSeconds * 1e6;
  if (skipSeconds === "auto") {
    const command = (id: number): boolean => {
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
        if (byId.get(at)!.callFrame.url.includes("src/application/executeCommand")) return true;
      return false;
    };
    let at = 0;
    for (const [i, id] of profile.samples.entries()) {
      at += profile.timeDeltas[i] ?? 0;
      if (command(id)) {
        skipUs = at;
        break;
      }
    }
  }
  const counts = new Map<string, number>();
  let time = 0;
  profile.samples.forEach((id, i) => {
    time += profile.timeDeltas[i] ?? 0;
    if (time < skipUs || byId.get(id)!.callFrame.functionName === "(idle)") return;
    const phase = classify(id);
    counts.set(phase, (counts.get(phase) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  });
  return counts;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, skip, requests] = process.argv.slice(2);
  const counts = phases(
    JSON.parse(readFileSync(file!, "utf8")) as Profile,
    skip === undefined || skip === "auto" ? "auto" : Number(skip),
  );
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  for (const [phase, us] of [...counts].sort((a, b) => b[1] - a[1]))
    console.log(
      `${phase.padEnd(62)} ${((100 * us) / total).toFixed(1).padStart(5)} %` +
        (requests ? `  ${(us / Number(requests)).toFixed(1).padStart(6)} µs/request` : ""),
    );
  console.log(`busy ${(total / 1e6).toFixed(2)} s`);
}
