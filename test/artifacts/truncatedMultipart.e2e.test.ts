// A multipart body that ends in the middle of a part (its Content-Length honest, its closing
// boundary missing) makes busboy emit "Unexpected end of form" on the parser and on every open
// part, sometimes after another error. Any such error without a listener used to kill the process
// (found by the fuzz suite); each must be a 400 and the server must keep serving.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendRaw } from "../fuzz/hostileRequests.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer("sqlite");
  await server.gql(`mutation { createRegisteredModel(input: { name: "cut" }) { __typename } }`);
  await server.gql(
    `mutation { createModelVersion(input: { name: "cut", source: "s", pendingArtifacts: true }) { __typename } }`,
  );
});
afterAll(async () => server?.close());

const operations = JSON.stringify({
  query: `mutation($input: UploadModelVersionArtifactInput!) { uploadModelVersionArtifact(input: $input) { __typename } }`,
  variables: { input: { name: "cut", version: 1, path: "cut.bin", file: null } },
});

const part = (name: string, data: string, filename?: string) =>
  `--b\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ""}\r\n\r\n${data}\r\n`;

const bodies: Record<string, string> = {
  "a valid map, the file cut short":
    part("operations", operations) +
    part("map", '{"0":["variables.input.file"]}') +
    `--b\r\nContent-Disposition: form-data; name="0"; filename="f"\r\n\r\nhalf a fi`,
  "a refused map, the file cut short":
    part("operations", operations) +
    part("map", '{"0":["__proto__.x"]}') +
    `--b\r\nContent-Disposition: form-data; name="0"; filename="f"\r\n\r\nhalf a fi`,
  "the file before operations, cut short": `--b\r\nContent-Disposition: form-data; name="0"; filename="f"\r\n\r\nearly and cut`,
  "two files, both unread, the second cut short":
    part("operations", "{") +
    part("0", "x", "f") +
    `--b\r\nContent-Disposition: form-data; name="1"; filename="g"\r\n\r\ncut`,
  "a part header cut short": part("operations", operations) + `--b\r\nContent-Disposition: form-da`,
};

describe("multipart bodies that end mid-part", () => {
  it.each(Object.entries(bodies))("%s: a 400, and the server keeps serving", async (_, body) => {
    const response = await sendRaw(Number(new URL(server.url).port), {
      kind: "multipart",
      method: "POST",
      target: "/graphql",
      headers: [
        ["Content-Type", "multipart/form-data; boundary=b"],
        ["X-Registro-CSRF", "1"],
      ],
      body: Buffer.from(body),
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body.toString()).error.code).toBe("VALIDATION");
    expect((await server.gql("{ __typename }")).data).toEqual({ __typename: "Query" });
  });
});
