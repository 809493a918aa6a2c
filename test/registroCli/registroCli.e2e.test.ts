// The real `registro` binary (bin/registro.js, spawned as a user would run it) against a running
// server: register a directory, download it back by alias, resume a partial download with a Range
// request, every exit code, --json documents, login, watch resuming from its cursor, and progress
// bars inside a pseudo-terminal. Each spawn costs about a second (tsx), so cases share one registry.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin/registro.js");
const FIXTURES = path.join(ROOT, "test/fixtures/inspection/files");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let server: TestServer;
let work: string;
let env: Record<string, string>;
/** The server's request log lines (method, route, status), to see what the CLI asked for. */
const requests: { method?: string; status?: number; route?: string }[] = [];

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: work,
      env: { ...env, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

describe("registro command line", () => {
  let source: string;

  beforeAll(async () => {
    const log = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of String(chunk).split("\n").filter(Boolean)) {
          const entry = JSON.parse(line) as { method?: string; status?: number; route?: string };
          if (entry.method) requests.push(entry);
        }
        callback();
      },
    });
    server = await startTestServer("sqlite", { logger: pino({ level: "info" }, log) });
    work = mkdtempSync(path.join(tmpdir(), "registro-cli-"));
    const { PATH, HOME, SYSTEMROOT } = process.env;
    env = {
      PATH: PATH ?? "",
      HOME: HOME ?? work,
      ...(SYSTEMROOT ? { SYSTEMROOT } : {}),
      REGISTRO_URL: server.url,
      XDG_CONFIG_HOME: path.join(work, "config"),
      XDG_STATE_HOME: path.join(work, "state"),
    };
    // A directory as a training job leaves it: a model, a tokenizer folder, a config, a dangerous
    // pickle, and a file large enough to be interrupted.
    source = path.join(work, "model-dir");
    mkdirSync(path.join(source, "tokenizer"), { recursive: true });
    copyFileSync(path.join(FIXTURES, "model.onnx"), path.join(source, "model.onnx"));
    copyFileSync(path.join(FIXTURES, "tokenizer.json"), path.join(source, "tokenizer", "tokenizer.json"));
    copyFileSync(path.join(FIXTURES, "vocab.txt"), path.join(source, "tokenizer", "vocab.txt"));
    copyFileSync(path.join(FIXTURES, "os_system_p4.pkl"), path.join(source, "legacy.pkl"));
    writeFileSync(path.join(source, "config.json"), JSON.stringify({ max_depth: 6 }));
    writeFileSync(path.join(source, "weights.bin"), randomBytes(3 * 1024 * 1024 + 17));
    writeFileSync(path.join(work, "metrics.yaml"), "auc: 0.93\nf1: 0.8\n");
  });

  afterAll(async () => {
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("registers a directory: every file uploaded with its digest, formats and verdicts shown, exit 5 with --fail-on-unsafe", async () => {
    const run = await cli([
      "register",
      "fraud-detector",
      path.join(work, "model-dir"),
      "--create-model",
      "--param",
      "lr=0.05",
      "--metrics-file",
      path.join(work, "metrics.yaml"),
      "--tag",
      "team=risk",
      "--role",
      "weights.bin=MODEL",
      "--description",
      "first cut",
      "--fail-on-unsafe",
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(5);
    const result = JSON.parse(run.stdout);
    expect(result.version.version).toBe(1);
    expect(result.version.status).toBe("READY");
    expect(result.version.params).toEqual({ lr: 0.05 });
    expect(result.version.metrics).toEqual([
      { key: "auc", value: 0.93 },
      { key: "f1", value: 0.8 },
    ]);
    const artifacts = Object.fromEntries(result.version.artifacts.map((a: any) => [a.path, a]));
    expect(Object.keys(artifacts).sort()).toEqual([
      "config.json",
      "legacy.pkl",
      "model.onnx",
      "tokenizer/tokenizer.json",
      "tokenizer/vocab.txt",
      "weights.bin",
    ]);
    expect(artifacts["model.onnx"]).toMatchObject({ format: "ONNX", verdict: "SAFE", role: "MODEL" });
    expect(artifacts["legacy.pkl"]).toMatchObject({ format: "PICKLE", verdict: "DANGEROUS" });
    expect(artifacts["weights.bin"]).toMatchObject({ role: "MODEL", verdict: "UNSCANNABLE" });
    expect(artifacts["weights.bin"].sha256).toBe(sha256(path.join(source, "weights.bin")));
    expect(result.blockers.unsafeArtifacts).toContainEqual({ path: "legacy.pkl", verdict: "DANGEROUS" });
    // Every upload announced its digest and was stored once.
    expect(requests.filter((r) => r.method === "PUT" && r.status === 201)).toHaveLength(6);
  });

  it("promote refused by the safety gate exits 5 with the blocking artifacts in its JSON error", async () => {
    const run = await cli(["promote", "fraud-detector", "1", "Production", "--json"]);
    expect(run.code, run.stderr).toBe(5);
    const { error } = JSON.parse(run.stdout);
    expect(error).toMatchObject({ code: "UNSAFE_ARTIFACT", exitCode: 5, total: 2 });
    expect(error.artifacts).toEqual([
      { path: "legacy.pkl", verdict: "DANGEROUS" },
      { path: "weights.bin", verdict: "UNSCANNABLE" },
    ]);
    expect(run.stderr).toContain("--override-reason");
  });

  it("sets an alias with an override reason, then downloads by alias with digests checked (plain progress lines)", async () => {
    const alias = await cli([
      "alias",
      "set",
      "fraud-detector",
      "champion",
      "1",
      "--override-reason",
      "legacy pickle reviewed by hand",
    ]);
    expect(alias.code, alias.stderr).toBe(0);
    const target = path.join(work, "fetched");
    const run = await cli(["download", "fraud-detector@champion", target]);
    expect(run.code, run.stderr).toBe(0);
    for (const file of ["model.onnx", "tokenizer/vocab.txt", "weights.bin", "legacy.pkl", "config.json"])
      expect(sha256(path.join(target, file)), file).toBe(sha256(path.join(source, file)));
    // Not a terminal: one line per finished file, no bar drawing.
    expect(run.stderr).toMatch(/^downloaded weights\.bin 3\.0 MiB in /m);
    expect(run.stderr).not.toContain("\u001b[");
  });

  it("resumes a partial download from its .part file with a Range request, and never writes the final name early", async () => {
    const target = path.join(work, "resumed");
    mkdirSync(target);
    const whole = readFileSync(path.join(source, "weights.bin"));
    writeFileSync(path.join(target, ".weights.bin.part"), whole.subarray(0, 1_000_000));
    const before = requests.length;
    const run = await cli(["download", "fraud-detector/1", target, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.files.find((f: any) => f.path === "weights.bin").status).toBe("resumed");
    expect(result.files.find((f: any) => f.path === "model.onnx").status).toBe("downloaded");
    expect(sha256(path.join(target, "weights.bin"))).toBe(sha256(path.join(source, "weights.bin")));
    expect(existsSync(path.join(target, ".weights.bin.part"))).toBe(false);
    // The server answered one ranged GET (206) and whole GETs for the rest.
    const gets = requests.slice(before).filter((r) => r.method === "GET");
    expect(gets.filter((r) => r.status === 206)).toHaveLength(1);
    expect(gets.filter((r) => r.status === 200)).toHaveLength(5);
  });

  it("refuses to overwrite a file with other content (exit 1), and replaces it with --force", async () => {
    const target = path.join(work, "fetched");
    writeFileSync(path.join(target, "config.json"), "edited by hand");
    const refused = await cli(["download", "fraud-detector@champion", target, "--json"]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toBe("FILE_EXISTS");
    expect(readFileSync(path.join(target, "config.json"), "utf8")).toBe("edited by hand");
    expect(refused.stderr).toContain("--force");
    const forced = await cli(["download", "fraud-detector@champion", target, "--force", "--quiet"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toBe("");
    expect(sha256(path.join(target, "config.json"))).toBe(sha256(path.join(source, "config.json")));
  });

  it("exit 2 on usage errors, 3 on what does not exist (naming what does), 4 on refused credentials", async () => {
    // A file name the registry refuses as an artifact path (a backslash): the upload fails and the
    // version is marked failed rather than left pending.
    const refused = path.join(work, "refused");
    mkdirSync(refused);
    writeFileSync(path.join(refused, "ok.json"), "{}");
    writeFileSync(path.join(refused, "back\\slash.bin"), "x");
    const [usage, alias, model, unauthenticated, badPath] = await Promise.all([
      cli(["promote", "fraud-detector", "one", "Production"]),
      cli(["download", "fraud-detector@challenger", path.join(work, "nowhere"), "--json"]),
      cli(["describe", "fraud-detectr"]),
      cli(["describe", "fraud-detector"], { REGISTRO_TOKEN: "rgo_not-a-real-token" }),
      cli(["register", "refused-paths", refused, "--create-model", "--json"]),
    ]);
    expect(badPath.code, badPath.stderr).toBe(2);
    const failed = JSON.parse(badPath.stdout).error;
    expect(failed).toMatchObject({ code: "VALIDATION", exitCode: 2 });
    expect(failed.message).toContain("version 1 marked FAILED_REGISTRATION");
    const version = await server.gql(`{ modelVersion(name: "refused-paths", version: 1) { status } }`);
    expect(version.data.modelVersion.status).toBe("FAILED_REGISTRATION");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("not a version number");
    expect(alias.code).toBe(3);
    expect(JSON.parse(alias.stdout).error.message).toBe(
      "model fraud-detector has no alias challenger; aliases: champion",
    );
    expect(existsSync(path.join(work, "nowhere"))).toBe(false);
    expect(model.code).toBe(3);
    expect(model.stderr).toContain("no such model 'fraud-detectr'; did you mean 'fraud-detector'?");
    expect(unauthenticated.code).toBe(4);
    expect(unauthenticated.stderr).toContain("REGISTRO_TOKEN");
  });

  it("registers a second version, promotes it archiving others, and describe, history, search and diff print JSON", async () => {
    const second = path.join(work, "second");
    mkdirSync(second);
    copyFileSync(path.join(FIXTURES, "model.onnx"), path.join(second, "model.onnx"));
    writeFileSync(path.join(second, "config.json"), JSON.stringify({ max_depth: 8 }));
    const registered = await cli([
      "register",
      "fraud-detector",
      second,
      "--param",
      "lr=0.01",
      "--metric",
      "auc=0.95",
      "-q",
    ]);
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toContain("blocks promotion: nothing");
    const promoted = await cli([
      "promote",
      "fraud-detector",
      "2",
      "production",
      "--archive-existing",
      "--json",
    ]);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(JSON.parse(promoted.stdout)).toMatchObject({ version: 2, stage: "PRODUCTION", changed: true });

    const [described, history, search, diff] = await Promise.all([
      cli(["describe", "fraud-detector/Production", "--json"]),
      cli(["history", "fraud-detector", "--json"]),
      cli(["search", "--metric", "auc>=0.94", "--stage", "production", "--json"]),
      cli(["diff", "fraud-detector", "@champion", "2", "--json"]),
    ]);
    for (const run of [described, history, search, diff]) expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(described.stdout).version).toMatchObject({ version: 2, stage: "PRODUCTION" });
    const events = JSON.parse(history.stdout).events.map((e: any) => e.type);
    expect(events[0]).toBe("RegisteredModelCreated");
    expect(events).toContain("ModelVersionSafetyOverridden");
    expect(events.at(-1)).toBe("ModelVersionStageTransitioned");
    const found = JSON.parse(search.stdout);
    expect(found.totalCount).toBe(1);
    expect(found.versions[0]).toMatchObject({ version: 2, model: { name: "fraud-detector" } });
    const changes = JSON.parse(diff.stdout);
    expect(changes).toMatchObject({ a: 1, b: 2 });
    expect(changes.params).toEqual([{ key: "lr", a: 0.05, b: 0.01 }]);
    expect(changes.metrics).toContainEqual({ key: "auc", a: 0.93, b: 0.95 });
    const byPath = Object.fromEntries(changes.artifacts.map((a: any) => [a.path, a.status]));
    expect(byPath).toMatchObject({
      "model.onnx": "same",
      "config.json": "changed",
      "weights.bin": "removed",
    });
  });

  it("watch follows promotions and alias moves live, and resumes after the last one it printed", async () => {
    const state = path.join(work, "watch-state.json");
    const child = spawn(
      process.execPath,
      [BIN, "watch", "fraud-detector", "--count", "1", "--state", state],
      {
        cwd: work,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    await eventually(() => stderr.includes("watching"), 20_000, "watch to start");
    // The subscription starts after the note; keep promoting until one is seen.
    await eventually(
      async () => {
        await server.gql(
          `mutation { transitionModelVersionStage(input: {name: "fraud-detector", version: 2, stage: STAGING}) { __typename } }`,
        );
        await server.gql(
          `mutation { transitionModelVersionStage(input: {name: "fraud-detector", version: 2, stage: PRODUCTION}) { __typename } }`,
        );
        return stdout.includes("fraud-detector v2");
      },
      20_000,
      "the promotion to be printed",
    );
    expect(await exited).toBe(0);
    // While nobody watches, the champion moves; the next run starts after the last change printed.
    await server.gql(
      `mutation { setRegisteredModelAlias(input: {name: "fraud-detector", alias: "champion", version: 2}) { __typename } }`,
    );
    const printed = JSON.parse(readFileSync(state, "utf8")) as { cursor: string };
    const history = await server.gql(
      `{ history(name: "fraud-detector", last: 20) { nodes { type cursor } } }`,
    );
    const nodes = history.data.history.nodes as { type: string; cursor: string }[];
    const after = nodes
      .slice(nodes.findIndex((n) => n.cursor === printed.cursor) + 1)
      .filter((n) => ["ModelVersionStageTransitioned", "RegisteredModelAliasSet"].includes(n.type));
    expect(after.at(-1)?.type).toBe("RegisteredModelAliasSet");
    const resumed = await cli([
      "watch",
      "fraud-detector",
      "--count",
      String(after.length),
      "--state",
      state,
      "--json",
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const lines = resumed.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.map((l) => l.cursor)).toEqual(after.map((n) => n.cursor));
    expect(lines.at(-1)).toMatchObject({
      model: "fraud-detector",
      type: "RegisteredModelAliasSet",
      data: { alias: "champion", version: 2, previousVersion: 1 },
    });
  });

  it("login checks the server and stores it (mode 0600) for later commands, and verify re-hashes every artifact", async () => {
    const login = await cli(["login", "--json"]);
    expect(login.code, login.stderr).toBe(0);
    const { configFile, viewer } = JSON.parse(login.stdout);
    expect(viewer.displayName).toBe("local-admin");
    expect(configFile).toBe(path.join(work, "config", "registro", "config.json"));
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    const { REGISTRO_URL: _url, ...withoutUrl } = env;
    const verify = await new Promise<Run>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, "verify", "fraud-detector@champion", "--json"], {
        cwd: work,
        env: withoutUrl,
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += String(chunk)));
      child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(verify.code, verify.stderr).toBe(0);
    const result = JSON.parse(verify.stdout);
    expect(result.ok).toBe(true);
    expect(result.artifacts.every((a: any) => a.downloaded === a.sha256)).toBe(true);
  });

  it("administers service accounts, teams and tokens, and a token it created authenticates", async () => {
    const [user, team] = await Promise.all([
      cli(["users", "create", "ci-bot", "--service-account", "--role", "member", "--json"]),
      cli(["teams", "create", "ml-platform", "--json"]),
    ]);
    expect(user.code, user.stderr).toBe(0);
    expect(team.code, team.stderr).toBe(0);
    const principal = JSON.parse(user.stdout).principal;
    expect(principal).toMatchObject({ displayName: "ci-bot", kind: "SERVICE_ACCOUNT", role: "MEMBER" });
    const teamId = JSON.parse(team.stdout).team.id as string;
    const [member, token] = await Promise.all([
      cli(["teams", "add", teamId, principal.id, "--json"]),
      cli(["tokens", "create", "deploy", "--principal", principal.id, "--scope", "READ", "--json"]),
    ]);
    expect(member.code, member.stderr).toBe(0);
    expect(JSON.parse(member.stdout).team.members).toEqual([{ id: principal.id, displayName: "ci-bot" }]);
    expect(token.code, token.stderr).toBe(0);
    const { secret } = JSON.parse(token.stdout) as { secret: string };
    const listed = await cli(["tokens", "list", "--json"], { REGISTRO_TOKEN: secret });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).tokens).toMatchObject([
      { name: "deploy", scopes: ["READ"], revoked: false },
    ]);
  });

  it("draws progress bars when attached to a terminal", async () => {
    const target = path.join(work, "tty");
    const command = [process.execPath, BIN, "download", "fraud-detector/1", target]
      .map((part) => `'${part.replaceAll("'", "'\\''")}'`)
      .join(" ");
    const run = await new Promise<Run>((resolve, reject) => {
      const child = spawn("script", ["-qfec", command, "/dev/null"], {
        cwd: work,
        env: { ...env, TERM: "xterm" },
      });
      let stdout = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += String(chunk)));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, stdout, stderr: "" }));
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain("total (downloaded)");
    expect(run.stdout).toMatch(/weights\.bin\s+\|[█░]+\| +\d+% [\d.]+ (B|KiB|MiB)\/3\.0 MiB/);
    // A finished file's bar gives way to one line above the bars.
    expect(run.stdout).toMatch(/downloaded weights\.bin 3\.0 MiB in /);
    expect(run.stdout).toContain("\u001b["); // cursor movement: bars redrawn in place
    expect(sha256(path.join(target, "weights.bin"))).toBe(sha256(path.join(source, "weights.bin")));
  });
});
