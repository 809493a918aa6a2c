// `npm start` as a process: SIGTERM ends it even when its stdout is a pipe nobody reads (or whose
// reader is gone), a shutdown that cannot finish is cut at its deadline, and a second signal ends
// it at once.
import { spawn } from "node:child_process";
import type { ChildProcessByStdio } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";

type Child = ChildProcessByStdio<null, Readable, Readable>;

const started: { child: Child; dataDir: string }[] = [];

afterEach(() => {
  for (const { child, dataDir } of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** Starts `node --import tsx src/main.ts` on a random port and waits for its listening line. */
async function startMain(env: Record<string, string>) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-main-"));
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: path.resolve(import.meta.dirname, "../.."),
    env: { ...inherited, DATA_DIR: dataDir, HOST: "127.0.0.1", PORT: "0", INSPECTION: "off", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push({ child, dataDir });
  let output = "";
  const onData = (chunk: Buffer) => (output += chunk.toString());
  child.stdout.on("data", onData);
  let errors = "";
  child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${errors}`)), 30_000);
    const check = () => {
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout.off("data", check);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on("data", check);
    child.once("exit", (code) => reject(new Error(`exited with ${code} before listening: ${errors}`)));
  });
  return {
    child,
    port,
    /** Stops reading stdout: the pipe fills up and the server's writes to it stall. */
    stopReading() {
      child.stdout.off("data", onData);
      child.stdout.pause();
    },
    waitForOutput(pattern: RegExp, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${output}`)), timeoutMs);
        const check = () => {
          if (!pattern.test(output)) return;
          clearTimeout(timer);
          child.stdout.off("data", check);
          resolve();
        };
        child.stdout.on("data", check);
        check();
      });
    },
  };
}

/** The exit code (or signal) of the child, failing the test if it is still alive after `timeoutMs`. */
function exited(child: Child, timeoutMs: number) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null)
      return resolve({ code: child.exitCode, signal: child.signalCode });
    const timer = setTimeout(() => reject(new Error(`still running ${timeoutMs} ms later`)), timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** 30 aliased lookups: with LOG_LEVEL=trace each one logs its SQL, about 20 KB of log per request. */
const CHATTY_QUERY = `{ ${Array.from({ length: 30 }, (_, i) => `m${i}: registeredModel(name: "m${i}") { name }`).join(" ")} }`;

async function query(port: number, text: string) {
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: text }),
  });
  return response.status;
}

/** A GraphQL POST whose body never finishes: the request stays in flight until the server cuts it. */
function requestInFlight(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  socket.write(
    "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" +
      '{"query":',
  );
  return socket;
}

describe("shutdown of the server process", () => {
  it("exits on SIGTERM although its stdout is a pipe nobody reads any more", async () => {
    const server = await startMain({ LOG_LEVEL: "trace", SHUTDOWN_TIMEOUT_MS: "5000" });
    server.stopReading();
    // About 600 KB of log, far more than the pipe holds: requests are still answered meanwhile.
    for (let i = 0; i < 30; i++) expect(await query(server.port, CHATTY_QUERY)).toBe(200);
    server.child.kill("SIGTERM");
    expect(await exited(server.child, 20_000)).toEqual({ code: 0, signal: null });
  });

  it("exits on SIGTERM after the reader of its stdout went away (EPIPE)", async () => {
    const server = await startMain({ LOG_LEVEL: "trace", SHUTDOWN_TIMEOUT_MS: "5000" });
    server.child.stdout.destroy();
    for (let i = 0; i < 5; i++) expect(await query(server.port, CHATTY_QUERY)).toBe(200);
    server.child.kill("SIGTERM");
    expect(await exited(server.child, 20_000)).toEqual({ code: 0, signal: null });
  });

  it("exits non-zero when in-flight work outlasts SHUTDOWN_TIMEOUT_MS", async () => {
    // Debug logging shows when Yoga has started on the request (and waits for its body).
    const server = await startMain({ LOG_LEVEL: "debug", SHUTDOWN_TIMEOUT_MS: "300" });
    const socket = requestInFlight(server.port);
    try {
      await server.waitForOutput(/Parsing request to extract GraphQL parameters/);
      server.child.kill("SIGTERM");
      // The deadline leaves in-flight requests nothing (it keeps SHUTDOWN_RESERVE_MS for the rest):
      // the request is cut at once, and the process says so with its exit code, whether the rest
      // closed within the 300 ms or the deadline came first (on a slow machine).
      expect(await exited(server.child, 20_000)).toEqual({ code: 1, signal: null });
      await server.waitForOutput(
        /requests in flight outlasted what SHUTDOWN_TIMEOUT_MS left them and were cut|shutdown did not finish within its deadline/,
      );
      await server.waitForOutput(/"outcome":"aborted"/);
    } finally {
      socket.destroy();
    }
  });

  it("lets a request in flight finish within what SHUTDOWN_TIMEOUT_MS leaves it, past the default 5 s", async () => {
    // 10 s, less SHUTDOWN_RESERVE_MS: 7 s for requests in flight. The body ends after 5.5 s.
    const server = await startMain({ LOG_LEVEL: "debug", SHUTDOWN_TIMEOUT_MS: "10000" });
    const body = JSON.stringify({ query: "{ __typename }" });
    const socket = net.connect(server.port, "127.0.0.1");
    socket.on("error", () => undefined);
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += String(chunk)));
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n` +
        body.slice(0, 5),
    );
    try {
      await server.waitForOutput(/Parsing request to extract GraphQL parameters/);
      server.child.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 5_500));
      socket.write(body.slice(5));
      expect(await exited(server.child, 10_000)).toEqual({ code: 0, signal: null });
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer).toContain('{"data":{"__typename":"Query"}}');
    } finally {
      socket.destroy();
    }
  }, 30_000);

  it("exits at once on a second signal, with 128 + its number", async () => {
    const server = await startMain({ LOG_LEVEL: "debug", SHUTDOWN_TIMEOUT_MS: "60000" });
    const socket = requestInFlight(server.port);
    try {
      await server.waitForOutput(/Parsing request to extract GraphQL parameters/);
      server.child.kill("SIGTERM");
      await server.waitForOutput(/shutting down/);
      server.child.kill("SIGTERM");
      // A graceful end would be 0, after the 5 s in-flight grace; 143 is SIGTERM's own exit.
      expect(await exited(server.child, 20_000)).toEqual({ code: 143, signal: null });
      await server.waitForOutput(/second signal/);
    } finally {
      socket.destroy();
    }
  });
});
