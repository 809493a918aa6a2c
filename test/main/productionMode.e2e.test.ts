// A server started without NODE_ENV runs graphql-js in production mode (src/productionMode.ts,
// #18): its development-only check for a second copy of graphql-js costs CPU on every request.
// Checked in a child process, as graphql-js reads NODE_ENV once, when it is loaded.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

// In development mode graphql-js throws on an object that calls itself a GraphQLObjectType without
// being one ("from another module or realm"); in production mode it is just not an object type.
const PROBE = `
await import("./src/productionMode.ts");
const { isObjectType } = await import("graphql");
const impostor = Object.create({ get [Symbol.toStringTag]() { return "GraphQLObjectType"; } });
let mode;
try { mode = isObjectType(impostor) ? "accepted" : "production"; } catch { mode = "development"; }
console.log(JSON.stringify({ nodeEnv: process.env.NODE_ENV, mode }));
`;

function probe(nodeEnv: string | undefined): { nodeEnv: string; mode: string } {
  const env = { ...process.env };
  delete env.NODE_ENV;
  if (nodeEnv !== undefined) env.NODE_ENV = nodeEnv;
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", PROBE], {
    cwd: ROOT,
    env,
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").at(-1)!) as { nodeEnv: string; mode: string };
}

describe("production mode", () => {
  it("is the default when NODE_ENV is unset or empty", () => {
    expect(probe(undefined)).toEqual({ nodeEnv: "production", mode: "production" });
    expect(probe("")).toEqual({ nodeEnv: "production", mode: "production" });
  });

  it("leaves an explicit NODE_ENV alone, keeping graphql-js's development checks", () => {
    expect(probe("development")).toEqual({ nodeEnv: "development", mode: "development" });
    expect(probe("test")).toEqual({ nodeEnv: "test", mode: "development" });
  });

  it("is what src/main.ts imports first, before anything that loads graphql-js", () => {
    const firstImport = /^import\s[^;]*;/m.exec(readFileSync(`${ROOT}/src/main.ts`, "utf8"))?.[0];
    expect(firstImport).toBe('import "./productionMode.ts";');
  });
});
