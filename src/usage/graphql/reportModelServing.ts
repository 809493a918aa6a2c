// `reportModelServing`: a serving system reports a window of traffic of one version in one
// environment. Stored in the usage buckets (not the event log: traffic is not a change of the
// model). Needs EDIT on the model, checked as uploads check it (../../access/scopedReader.ts).
import { writeRefusal } from "../../access/scopedReader.ts";
import { NotFoundError, PermissionDeniedError, ValidationError } from "../../domain/errors.ts";
import { checkStorableText } from "../../domain/validation.ts";
import { builder } from "../../graphql/builder.ts";
import { mutationErrors } from "../../graphql/types/errors.ts";
import { SERVING_LIMITS, checkServingLabels, checkServingReport } from "../servingReport.ts";
import { applyServingReport, servingLabels } from "../usageStore.ts";
import { bucketStartMs } from "../timeBuckets.ts";

interface ReportPayload {
  readonly applied: boolean;
  readonly modelId: string;
  readonly version: number;
}

const ReportPayloadRef = builder.objectRef<ReportPayload>("ReportModelServingPayload").implement({
  description: "The outcome of a serving report.",
  fields: (t) => ({
    applied: t.exposeBoolean("applied", {
      description:
        "False when a report with the same `clientReportId` from the same principal was already applied (nothing was added again).",
    }),
    modelVersion: t.prismaField({
      type: "ModelVersion",
      description: "The version reported on.",
      resolve: (query, p, _args, ctx) =>
        ctx.reader.modelVersion.findUniqueOrThrow({
          ...query,
          where: { modelId_version: { modelId: p.modelId, version: p.version } },
        }),
    }),
  }),
});

const MetricInput = builder.inputType("ServingMetricInput", {
  description: "A custom numeric metric of a serving window.",
  fields: (f) => ({
    name: f.string({
      description: "1-64 characters: letters, digits, `_`, `.`, `:` or `-`, starting with a letter or `_`.",
    }),
    value: f.float({ description: "A finite number of magnitude at most 1e15." }),
  }),
});

const ReportInput = builder.inputType("ReportModelServingInput", {
  description: "One window of a version's traffic in one environment, as the serving system measured it.",
  fields: (f) => ({
    name: f.string({ description: "Model name." }),
    version: f.int({ description: "Version number (a live version)." }),
    environment: f.string({
      description: `Where it is served, e.g. \`prod-eu\` (1-64 lowercase letters, digits, \`.\`, \`_\`, \`-\`, starting with a letter or digit). A model's reports may name at most ${SERVING_LIMITS.maxEnvironmentsPerModelDay} environments per UTC day.`,
    }),
    windowStart: f.field({
      type: "DateTime",
      description: "Start of the window; the report is counted in the hour and day holding it.",
    }),
    windowEnd: f.field({
      type: "DateTime",
      description: "End of the window: after its start, at most one hour later, not in the future.",
    }),
    requests: f.field({ type: "SafeInt", description: "Requests served in the window (0 to 10^12)." }),
    errors: f.field({ type: "SafeInt", description: "Of those, failed requests (at most `requests`)." }),
    latencyP50Ms: f.float({
      required: false,
      description: "Median latency (ms); required when requests > 0, absent otherwise.",
    }),
    latencyP99Ms: f.float({
      required: false,
      description: "99th percentile latency (ms), at least the median; required when requests > 0.",
    }),
    metrics: f.field({
      type: [MetricInput],
      required: false,
      description: `Custom numeric metrics (at most ${SERVING_LIMITS.maxMetrics}, distinct names), summed per bucket. A model's reports may name at most ${SERVING_LIMITS.maxMetricNamesPerModelDay} metrics per UTC day.`,
    }),
    clientReportId: f.string({
      required: false,
      description:
        "Makes retries safe: a second report with the same id from the same principal is not counted again (remembered 7 days). 1-128 printable ASCII characters.",
    }),
  }),
});

builder.mutationFields((t) => ({
  reportModelServing: t.field({
    type: ReportPayloadRef,
    description:
      "Records a window of a version's serving traffic (requests, errors, latency p50/p99, custom metrics) in an environment. Needs EDIT on the model (serving systems use a service account token with the `write` scope). Visible in `ModelVersion.usage` at once.",
    errors: mutationErrors("ReportModelServing", [ValidationError, NotFoundError, PermissionDeniedError]),
    args: { input: t.arg({ type: ReportInput, description: "The report." }) },
    resolve: async (_root, { input }, ctx) => {
      const unstorable = checkStorableText("name", input.name);
      if (unstorable) throw unstorable;
      const now = ctx.commands.clock();
      const oldest = new Date(bucketStartMs("HOUR", now.getTime() - ctx.usage.retention.hourlyMs));
      const report = checkServingReport(input, now, oldest);
      if (report instanceof ValidationError) throw report;
      const refusal = await writeRefusal(ctx, input.name, "reportModelServing");
      if (refusal) throw refusal;
      const version = await ctx.reader.modelVersion.findFirst({
        where: { version: input.version, deleted: false, model: { name: input.name, deleted: false } },
        select: { modelId: true, version: true },
      });
      if (version === null) throw new NotFoundError("ModelVersion", `${input.name} v${input.version}`);
      // Checked outside the write: concurrent reports may pass a bound by a few names, never by many.
      const labels = await servingLabels(ctx.db, version.modelId, report.windowStart);
      const unbounded = checkServingLabels(report, labels);
      if (unbounded) throw unbounded;
      const principal = ctx.rights.principalId ?? "system";
      const applied = await applyServingReport(
        ctx.db,
        {
          batchId:
            report.clientReportId === null
              ? null
              : `serving:${principal}:${version.modelId}:${report.clientReportId}`,
          modelId: version.modelId,
          version: version.version,
          environment: report.environment,
          windowStart: report.windowStart,
          windowEnd: report.windowEnd,
          requests: report.requests,
          errors: report.errors,
          latencyP50Ms: report.latencyP50Ms,
          latencyP99Ms: report.latencyP99Ms,
          metrics: report.metrics,
        },
        now,
      );
      return { applied, modelId: version.modelId, version: version.version };
    },
  }),
}));
