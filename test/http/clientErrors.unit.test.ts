// Which request a parser error belongs to, read from the bytes Node hands over: any bytes, never a throw.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { failedRequestUrl } from "../../src/http/clientErrors.ts";

const parserError = (packet: unknown, bytesParsed?: number) =>
  Object.assign(new Error("Parse Error"), { code: "HPE_INVALID_CONSTANT", rawPacket: packet, bytesParsed });

describe("failedRequestUrl", () => {
  it("reads the target of the request the failing byte belongs to", () => {
    const one = Buffer.from("GET /api/2.0/mlflow/x?y=1 HTTP/1.1\r\nBad Header\r\n\r\n");
    expect(failedRequestUrl(parserError(one, 40))?.pathname).toBe("/api/2.0/mlflow/x");
    // A keep-alive chunk that ends a good request before the bad one.
    const two = Buffer.from("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /graphql junk\r\n\r\n");
    expect(failedRequestUrl(parserError(two, two.indexOf("junk") + 1))?.pathname).toBe("/graphql");
  });

  it.each([
    ["no packet", undefined],
    ["a string, not bytes", "GET /api/2.0/mlflow/x HTTP/1.1"],
    ["an absolute-form target", Buffer.from("GET http://a/api/2.0/mlflow/x HTTP/1.1\r\n")],
    ["a host that does not parse", Buffer.from("GET //[ HTTP/1.1\r\n")],
    ["no target", Buffer.from("GET\r\n\r\n")],
  ])("has no target for %s", (_, packet) => {
    expect(failedRequestUrl(parserError(packet, 3))).toBeNull();
  });

  it("never throws on random bytes or offsets", () => {
    for (let i = 0; i < 2_000; i++) {
      const packet = randomBytes(i % 97);
      const offsets = [undefined, -5, 0, packet.length, packet.length + 10, Number.NaN, i % 13];
      for (const offset of offsets) expect(() => failedRequestUrl(parserError(packet, offset))).not.toThrow();
    }
  });
});
