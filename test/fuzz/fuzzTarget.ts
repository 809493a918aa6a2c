// The registry state a fuzz run aims at: a model with a READY version holding one real artifact, so
// hostile downloads, ranges and uploads reach real rows and bytes instead of stopping at 404.
import { createHash } from "node:crypto";
import type { Targets } from "./hostileRequests.ts";

async function gql(url: string, query: string): Promise<void> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  const text = await response.text();
  if (!response.ok || text.includes('"errors"') || text.includes("Error"))
    throw new Error(`seeding failed: ${text}`);
}

export async function seedFuzzTarget(
  url: string,
): Promise<Targets & { readonly bytes: Buffer; readonly sha256: string }> {
  const model = "fuzz target";
  const artifactPath = "weights/model.bin";
  const bytes = Buffer.alloc(64 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  await gql(url, `mutation { createRegisteredModel(input: { name: "${model}" }) { __typename } }`);
  await gql(
    url,
    `mutation { createModelVersion(input: { name: "${model}", source: "fuzz", pendingArtifacts: true }) { __typename } }`,
  );
  const put = await fetch(`${url}/artifacts/${encodeURIComponent(model)}/1/${artifactPath}`, {
    method: "PUT",
    headers: { "x-checksum-sha256": sha256, "content-type": "application/octet-stream" },
    body: bytes,
  });
  if (put.status !== 201) throw new Error(`seeding upload answered ${put.status}: ${await put.text()}`);
  await gql(url, `mutation { finalizeModelVersion(input: { name: "${model}", version: 1 }) { __typename } }`);
  return { model, version: 1, artifactPath, artifactSize: bytes.length, bytes, sha256 };
}
