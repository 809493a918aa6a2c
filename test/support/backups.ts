// Editing a backup as someone who tampers with one would: a file's lines changed and the manifest
// rewritten to match (its checksum dropped), so that the file's own line checks are what must
// refuse it at restore, not the manifest's digests.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { writeManifest } from "../../src/backup/manifest.ts";

export async function rewriteBackupFile(
  backupDir: string,
  fileName: string,
  edit: (lines: string[]) => void,
): Promise<void> {
  const file = path.join(backupDir, fileName);
  const lines = readFileSync(file, "utf8").split("\n");
  edit(lines);
  const text = lines.join("\n");
  writeFileSync(file, text);
  const manifest = JSON.parse(readFileSync(path.join(backupDir, "manifest.json"), "utf8"));
  delete manifest.checksum;
  manifest.files[fileName] = {
    sha256: createHash("sha256").update(text).digest("hex"),
    size: Buffer.byteLength(text),
  };
  await writeManifest(backupDir, manifest);
}
