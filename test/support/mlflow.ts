// Speaking MLflow's REST API in e2e tests: fixtures written from MLflow's REST documentation
// (test/fixtures/mlflow/), played against a running server on either API prefix.
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import type { TestServer } from "./server.ts";

export interface FixtureRequest {
  readonly method: string;
  readonly path: string;
  readonly query?: readonly [string, string][];
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly contentType?: string;
}

export interface FixtureResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: unknown;
}

export interface Step {
  readonly rpc?: string;
  readonly case?: string;
  readonly request: FixtureRequest;
  readonly response: FixtureResponse;
  /** Values of the answer later steps use: `{{name}}` placeholder → dotted path in the body. */
  readonly capture?: Record<string, string>;
}

export const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/mlflow/${name}.json`, import.meta.url), "utf8")) as {
    steps?: Step[];
    cases?: Step[];
  };

export const PREFIXES = ["/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"] as const;

/** Fills `{{name}}` placeholders in every string of a fixture value. */
export function fill(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === "string") return value.replace(/\{\{(\w+)\}\}/g, (_, key: string) => vars[key] ?? "");
  if (Array.isArray(value)) return value.map((v) => fill(v, vars));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, vars)]));
  return value;
}

/**
 * The expected body: `<timestamp>` is any number, `<string>` any non-empty string, `<hex32>` 32
 * lowercase hex digits (an MLflow run id), `<regex>…` a string the rest matches; the rest exact.
 */
export function expectation(value: unknown): unknown {
  if (value === "<timestamp>") return expect.any(Number);
  if (value === "<hex32>") return expect.stringMatching(/^[0-9a-f]{32}$/);
  if (value === "<string>") return expect.stringMatching(/./);
  if (typeof value === "string" && value.startsWith("<regex>"))
    return expect.stringMatching(new RegExp(value.slice("<regex>".length)));
  if (Array.isArray(value)) return value.map(expectation);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expectation(v)]));
  return value;
}

export async function call(
  server: TestServer,
  prefix: string,
  request: FixtureRequest,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const url = new URL(`${prefix}${request.path}`, server.url);
  for (const [key, value] of request.query ?? []) url.searchParams.append(key, value);
  const body = request.rawBody ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  const response = await fetch(url, {
    method: request.method,
    headers: {
      ...(body === undefined ? {} : { "content-type": request.contentType ?? "application/json" }),
      ...headers,
    },
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

export async function play(
  server: TestServer,
  prefix: string,
  steps: readonly Step[],
  vars: Record<string, string>,
) {
  for (const step of steps) {
    const request = fill(step.request, vars) as FixtureRequest;
    const expected = fill(step.response, vars) as FixtureResponse;
    const answer = await call(server, prefix, request);
    const what = `${prefix}${request.path}: ${step.rpc ?? step.case ?? ""}`;
    expect({ status: answer.status, body: answer.body }, what).toEqual({
      status: expected.status,
      body: expectation(expected.body),
    });
    for (const [name, value] of Object.entries(expected.headers ?? {}))
      expect(answer.headers.get(name), what).toBe(value);
    for (const [name, path] of Object.entries(step.capture ?? {}))
      vars[name] = String(path.split(".").reduce<any>((at, part) => at?.[part], answer.body));
  }
}

let counter = 0;
export const freshName = (what: string) =>
  `mlf-${what}-${++counter}-${Math.random().toString(36).slice(2, 7)}`;

export const get = (path: string, query: [string, string][] = []): FixtureRequest => ({
  method: "GET",
  path,
  query,
});
export const post = (path: string, body: unknown): FixtureRequest => ({ method: "POST", path, body });

/**
 * Follows a search's page tokens to the end (at most ten pages), checking every page answers 200:
 * the items `pick` takes from each page, in order, and how many pages there were.
 */
export async function allPages<T>(
  search: (query: [string, string][]) => Promise<{ status: number; body: any }>,
  query: [string, string][],
  pick: (body: any) => T[],
): Promise<{ readonly items: T[]; readonly pages: number }> {
  const items: T[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await search([
      ...query,
      ...(token === undefined ? [] : ([["page_token", token]] as [string, string][])),
    ]);
    expect(page.status).toBe(200);
    items.push(...pick(page.body));
    token = page.body.next_page_token as string | undefined;
    pages++;
  } while (token !== undefined && pages < 10);
  return { items, pages };
}
