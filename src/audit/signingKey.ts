// The server's checkpoint signing key: an Ed25519 private key in a PEM file outside the database, so
// that someone who can rewrite the database still cannot sign a checkpoint for the rewritten log.
// Created (mode 0600) the first time a checkpoint is made; it must be kept and backed up apart from
// the database (docs/audit.md).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export const SIGNATURE_ALGORITHM = "Ed25519";

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo, PEM. */
  readonly publicKeyPem: string;
  readonly fingerprint: string;
}

/** `sha256:` and the hex SHA-256 of the key's DER SubjectPublicKeyInfo. */
export function keyFingerprint(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(der).digest("hex")}`;
}

export function publicKeyFromPem(pem: string): KeyObject {
  const key = createPublicKey({ key: pem, format: "pem" });
  if (key.asymmetricKeyType !== "ed25519") throw new Error("the checkpoint key is not an Ed25519 public key");
  return key;
}

function fromPrivateKey(privateKey: KeyObject, file: string): SigningKey {
  if (privateKey.asymmetricKeyType !== "ed25519")
    throw new Error(`${file} holds a ${privateKey.asymmetricKeyType ?? "non-asymmetric"} key, not Ed25519`);
  const publicKey = createPublicKey(privateKey);
  return {
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    fingerprint: keyFingerprint(publicKey),
  };
}

/** Reads the key file, or null when it does not exist. */
export function readSigningKey(file: string): SigningKey | null {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  return fromPrivateKey(createPrivateKey({ key: pem, format: "pem" }), file);
}

/** Reads the key file, creating a new key there (mode 0600) when there is none. */
export function loadOrCreateSigningKey(file: string): SigningKey {
  const existing = readSigningKey(file);
  if (existing !== null) return existing;
  const { privateKey } = generateKeyPairSync("ed25519");
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    // `wx`: another process that created the file first wins, and both then use its key.
    writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { flag: "wx", mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const winner = readSigningKey(file);
    if (winner === null) throw error;
    return winner;
  }
  return fromPrivateKey(privateKey, file);
}
