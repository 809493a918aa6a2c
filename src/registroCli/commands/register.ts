// `registro register MODEL PATH…`: a version with pending artifacts, every file uploaded in parallel
// (each announcing its sha256, computed first, so the server verifies what it stores), finalized;
// then the version, each file's format and verdict, and what blocks its promotion.
import path from "node:path";
import type { Command } from "commander";
import { Option } from "commander";
import { uploadArtifact } from "../artifactTransfer.ts";
import { contextOf } from "../context.ts";
import type { CommandContext } from "../context.ts";
import { CliError, ExitCode, usageError } from "../exitCodes.ts";
import type { TypedResult } from "../graphqlClient.ts";
import { ERROR_FIELDS, payload } from "../graphqlClient.ts";
import { collect, metrics, params, splitPair, tags } from "../keyValues.ts";
import { collectFiles, eachLimited, sha256OfFile } from "../localFiles.ts";
import type { LocalFile } from "../localFiles.ts";
import { createProgress } from "../progress.ts";
import { fetchVersion, renderArtifacts, renderBlockers } from "../versionView.ts";

const ROLES = ["MODEL", "TOKENIZER", "ENCODER", "VOCABULARY", "CONFIG", "OTHER"];

interface RegisterOptions {
  createModel?: boolean;
  role: string[];
  param: string[];
  metric: string[];
  paramsFile?: string;
  metricsFile?: string;
  tag: string[];
  description?: string;
  source?: string;
  runId?: string;
  concurrency: string;
  failOnUnsafe?: boolean;
}

export function registerRegisterCommand(program: Command): void {
  program
    .command("register")
    .description("create a version from files and directories, upload them, finalize it")
    .argument("<model>", "model name")
    .argument("<paths...>", "files, and directories whose files are all uploaded (paths relative to them)")
    .option("--create-model", "create the model if it does not exist")
    .option(
      "--role <path=ROLE>",
      `an artifact's role (${ROLES.join(", ")}); default: guessed by the server from the name`,
      collect,
      [],
    )
    .option("--param <key=value>", "a training parameter (value parsed as JSON when it can be)", collect, [])
    .option("--metric <key=value>", "a metric (a number)", collect, [])
    .option("--params-file <file>", "parameters from a JSON or YAML object")
    .option("--metrics-file <file>", "metrics from a JSON or YAML object of numbers")
    .option("--tag <key=value>", "a version tag", collect, [])
    .option("--description <text>", "the version's description")
    .option("--source <uri>", "where the files come from (default: the first path, absolute)")
    .option("--run-id <id>", "the training run")
    .addOption(new Option("--concurrency <n>", "files uploaded at once").default("4"))
    .option(
      "--fail-on-unsafe",
      `exit ${ExitCode.unsafe} when an artifact's verdict would block promotion to Production`,
    )
    .action(async (model: string, paths: string[], options: RegisterOptions, command: Command) => {
      await register(contextOf(command), model, paths, options);
    });
}

async function register(ctx: CommandContext, model: string, paths: string[], options: RegisterOptions) {
  const { client, out } = ctx;
  const concurrency = Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32)
    throw usageError("--concurrency must be an integer from 1 to 32");
  const files = collectFiles(paths);
  const roles = new Map(
    options.role.map((pair) => {
      const [p, role] = splitPair(pair, "--role");
      if (!ROLES.includes(role.toUpperCase()))
        throw usageError(`--role ${pair}: roles are ${ROLES.join(", ")}`);
      if (!files.some((f) => f.path === p)) throw usageError(`--role ${pair}: no file is uploaded as ${p}`);
      return [p, role.toUpperCase()];
    }),
  );
  const input = {
    name: model,
    source: options.source ?? `file://${path.resolve(paths[0]!)}`,
    description: options.description,
    runId: options.runId,
    params: await params(options.param, options.paramsFile),
    metrics: await metrics(options.metric, options.metricsFile),
    tags: tags(options.tag),
    pendingArtifacts: true,
  };

  if (options.createModel) {
    const created = await client.request<{ createRegisteredModel: TypedResult }>(
      `mutation($name: String!) { createRegisteredModel(input: { name: $name }) { ${ERROR_FIELDS} } }`,
      { name: model },
    );
    const result = created.createRegisteredModel;
    if (result.__typename !== "AlreadyExistsError") payload(result, "RegisteredModelPayload");
    else out.note(`model ${model} exists already`);
  }
  const createdVersion = await client.request<{ createModelVersion: TypedResult }>(
    `mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) {
      ${ERROR_FIELDS} ... on ModelVersionPayload { modelVersion { version } } } }`,
    { input },
  );
  const versionResult = createdVersion.createModelVersion;
  if (versionResult.__typename === "NotFoundError")
    throw new CliError(
      `no such model '${model}'; create it with --create-model`,
      ExitCode.notFound,
      "NOT_FOUND",
    );
  const version = payload<{ modelVersion: { version: number } }>(versionResult, "ModelVersionPayload")
    .modelVersion.version;
  out.note(`registering ${model} version ${version}: ${files.length} file(s)`);

  try {
    await uploadAll(ctx, model, version, files, roles, concurrency);
  } catch (error) {
    // Leave no version waiting for files that will not come: mark it failed, with the reason.
    const reason = error instanceof Error ? error.message : String(error);
    await client
      .request(
        `mutation($input: FailModelVersionRegistrationInput!) { failModelVersionRegistration(input: $input) { __typename } }`,
        { input: { name: model, version, reason: reason.slice(0, 1000) } },
      )
      .catch(() => undefined);
    if (error instanceof CliError)
      throw new CliError(
        `${error.message}; version ${version} marked FAILED_REGISTRATION`,
        error.exitCode,
        error.code,
        error.details,
      );
    throw error;
  }

  const finalized = await client.request<{ finalizeModelVersion: TypedResult }>(
    `mutation($name: String!, $version: Int!) { finalizeModelVersion(input: { name: $name, version: $version }) {
      ${ERROR_FIELDS} ... on ModelVersionPayload { modelVersion { status } } } }`,
    { name: model, version },
  );
  payload(finalized.finalizeModelVersion, "ModelVersionPayload");

  const { view, blockers } = await fetchVersion(client, model, version);
  const unsafe = blockers.unsafeArtifacts.length > 0;
  out.result({ model, version: view, blockers }, () =>
    [
      `registered ${model} version ${version} (${view.status}, stage ${view.stage})`,
      renderArtifacts(view.artifacts),
      renderBlockers(blockers),
    ].join("\n"),
  );
  if (unsafe && options.failOnUnsafe)
    throw new CliError(
      `${model} version ${version} was registered, but ${blockers.unsafeArtifacts.map((a) => a.path).join(", ")} would block promotion`,
      ExitCode.unsafe,
      "UNSAFE_ARTIFACT",
      { version, artifacts: blockers.unsafeArtifacts },
    );
}

async function uploadAll(
  ctx: CommandContext,
  model: string,
  version: number,
  files: readonly LocalFile[],
  roles: ReadonlyMap<string, string>,
  concurrency: number,
) {
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const progress = createProgress({ enabled: !ctx.out.options.quiet, verb: "uploaded", totalBytes });
  try {
    await eachLimited(files, concurrency, async (file) => {
      const bar = progress.file(file.path, file.size);
      try {
        const sha256 = await sha256OfFile(file.file);
        const role = roles.get(file.path);
        await uploadArtifact(
          ctx.settings,
          {
            model,
            version,
            path: file.path,
            file: file.file,
            size: file.size,
            sha256,
            ...(role ? { role } : {}),
          },
          (n) => bar.advance(n),
          ctx.signal,
        );
        bar.done("uploaded");
      } catch (error) {
        bar.fail(error instanceof Error ? error.message : String(error));
        throw error;
      }
    });
  } finally {
    progress.stop();
  }
}
