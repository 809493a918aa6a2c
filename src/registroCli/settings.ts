// Where the server is and how to authenticate: `--url`, then REGISTRO_URL, then the file written by
// `registro login`; the token from REGISTRO_TOKEN, else from that file, but only for the server the
// file names (a token is never sent to a server it was not checked against).
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CliError, ExitCode } from "./exitCodes.ts";

export const DEFAULT_URL = "http://127.0.0.1:4000";

export interface Settings {
  /** The server's origin, without a trailing slash (e.g. http://127.0.0.1:4000). */
  readonly url: string;
  readonly token: string | undefined;
  /** Per-request deadline for API calls, and the idle limit of transfers, in milliseconds. */
  readonly timeoutMs: number;
}

export interface StoredLogin {
  readonly url: string;
  readonly token?: string;
}

// Checked by hand rather than with zod: loading zod costs every command about 0.1 s at start-up.
function isStoredLogin(value: unknown): value is StoredLogin {
  if (typeof value !== "object" || value === null) return false;
  const { url, token } = value as Record<string, unknown>;
  return typeof url === "string" && (token === undefined || typeof token === "string");
}

/** REGISTRO_CONFIG, else `$XDG_CONFIG_HOME/registro/config.json` (`~/.config/registro/config.json`). */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REGISTRO_CONFIG) return path.resolve(env.REGISTRO_CONFIG);
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "registro", "config.json");
}

export function readStoredLogin(file = configFilePath()): StoredLogin | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const parsed = safeJson(text);
  if (!isStoredLogin(parsed))
    throw new CliError(`${file} is not a registro config file; run \`registro login\` again`, ExitCode.usage);
  return { url: parsed.url, ...(parsed.token === undefined ? {} : { token: parsed.token }) };
}

/** Writes the file readable by its owner only (0600), atomically. */
export function writeStoredLogin(login: StoredLogin, file = configFilePath()): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(login, null, 2) + "\n", { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An origin from user input: http(s) only; a trailing `/graphql` or slash is dropped. */
export function normalizeUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new CliError(
      `--url ${JSON.stringify(input)} is not a URL (e.g. http://127.0.0.1:4000)`,
      ExitCode.usage,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CliError(`--url must be http:// or https://, not ${url.protocol}`, ExitCode.usage);
  const pathname = url.pathname.replace(/\/graphql\/?$/, "").replace(/\/+$/, "");
  return `${url.origin}${pathname}`;
}

export function resolveSettings(
  options: { url?: string; timeout?: string },
  env: NodeJS.ProcessEnv = process.env,
): Settings {
  const stored = readStoredLogin(configFilePath(env));
  const url = normalizeUrl(options.url ?? env.REGISTRO_URL ?? stored?.url ?? DEFAULT_URL);
  const token =
    env.REGISTRO_TOKEN || (stored?.token && normalizeUrl(stored.url) === url ? stored.token : undefined);
  const seconds = options.timeout === undefined ? 30 : Number(options.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400)
    throw new CliError(`--timeout must be a number of seconds between 0 and 86400`, ExitCode.usage);
  return { url, token, timeoutMs: Math.round(seconds * 1000) };
}
