// Webhook host names resolve without libuv's thread pool: the hosts file first, then DNS through
// c-ares, every query bounded by its own timeout. A DNS server of the test's own answers on
// loopback (UDP), so nothing leaves the machine.
import { createSocket } from "node:dgram";
import type { Socket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressesInHostsFile, hostResolver } from "../../src/webhooks/delivery/hostResolver.ts";
import { parseAllowList, resolveTarget } from "../../src/webhooks/delivery/targetGuard.ts";

/** The name a DNS question asks for, from its wire form (labels from offset 12). */
function questionName(query: Buffer): { name: string; end: number } {
  const labels: string[] = [];
  let at = 12;
  while (query[at]! > 0) {
    labels.push(query.subarray(at + 1, at + 1 + query[at]!).toString("latin1"));
    at += query[at]! + 1;
  }
  return { name: labels.join("."), end: at + 5 }; // the root label, QTYPE and QCLASS
}

/**
 * A DNS server that answers A questions from `records` (and every AAAA question with no answer),
 * and never answers names in `silent`.
 */
async function dnsServer(records: Record<string, string[]>, silent: readonly string[]): Promise<Socket> {
  const socket = createSocket("udp4");
  socket.on("message", (query, peer) => {
    const { name, end } = questionName(query);
    if (silent.includes(name)) return;
    const type = query.readUInt16BE(end - 4);
    const addresses = type === 1 ? (records[name] ?? []) : [];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // the id
    header.writeUInt16BE(records[name] === undefined ? 0x8183 : 0x8180, 2); // NXDOMAIN or no error
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(addresses.length, 6);
    const answers = addresses.map((address) => {
      const answer = Buffer.alloc(16);
      answer.writeUInt16BE(0xc00c, 0); // the question's name
      answer.writeUInt16BE(1, 2); // A
      answer.writeUInt16BE(1, 4); // IN
      answer.writeUInt32BE(60, 6);
      answer.writeUInt16BE(4, 10);
      Buffer.from(address.split(".").map(Number)).copy(answer, 12);
      return answer;
    });
    socket.send(Buffer.concat([header, query.subarray(12, end), ...answers]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return socket;
}

describe("webhook host names", () => {
  let server: Socket;
  let servers: string[];
  let dir: string;
  let hostsFile: string;

  beforeAll(async () => {
    server = await dnsServer({ "hooks.test": ["203.0.113.7", "203.0.113.8"] }, ["silent.test"]);
    servers = [`127.0.0.1:${server.address().port}`];
    dir = mkdtempSync(path.join(tmpdir(), "registro-hosts-"));
    hostsFile = path.join(dir, "hosts");
    writeFileSync(
      hostsFile,
      "127.0.0.1 localhost\n# 10.0.0.1 commented.test\n10.1.2.3  Build.Internal  ci # ours\n::1 localhost\n",
    );
  });
  afterAll(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the hosts file as getaddrinfo does: every address of the name, case-insensitively", () => {
    const text =
      "127.0.0.1 localhost\n::1 localhost ip6-localhost\n# 10.0.0.9 localhost\nnot-an-ip localhost\n";
    expect(addressesInHostsFile(text, "localhost")).toEqual([
      { address: "127.0.0.1", family: 4 },
      { address: "::1", family: 6 },
    ]);
    expect(addressesInHostsFile("10.1.2.3 Build.Internal ci", "build.internal")).toEqual([
      { address: "10.1.2.3", family: 4 },
    ]);
    expect(addressesInHostsFile("", "localhost")).toEqual([]);
  });

  it("answers a name of the hosts file from it, and others from DNS", async () => {
    const resolve = hostResolver({ hostsFile, servers });
    expect(await resolve("BUILD.internal")).toEqual([{ address: "10.1.2.3", family: 4 }]);
    expect(await resolve("hooks.test")).toEqual([
      { address: "203.0.113.7", family: 4 },
      { address: "203.0.113.8", family: 4 },
    ]);
    await expect(resolve("nowhere.test")).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("gives up on a nameserver that never answers by its own timeout, and a webhook is refused in time", async () => {
    const resolve = hostResolver({ hostsFile, servers, timeoutMs: 100, tries: 1 });
    const started = Date.now();
    await expect(resolve("silent.test")).rejects.toMatchObject({ code: "ETIMEOUT" });
    expect(Date.now() - started).toBeLessThan(5_000);
    const outcome = await resolveTarget(
      new URL("https://silent.test/hook"),
      parseAllowList(""),
      resolve,
      2_000,
    );
    expect(outcome).toEqual({ refused: "its host silent.test does not resolve (ETIMEOUT)" });
  });
});
