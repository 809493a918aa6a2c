// Builds the domain's decision state from the projection rows of a stream ("state kept with the
// projection"), so a command never refolds the stream's history.
import type { CommentState } from "../comments/domain/state.ts";
import type { DeploymentState } from "../deployments/domain/state.ts";
import type { RegisteredModelState, VersionState } from "../domain/registeredModel/state.ts";
import { initialState } from "../domain/registeredModel/state.ts";
import type { StreamViews } from "../projections/streamViews.ts";
import type { OpenReview } from "../reviews/domain/state.ts";

export function decisionState(views: StreamViews): RegisteredModelState {
  const model = views.model;
  if (model === null) return initialState;
  const versions: Record<number, VersionState> = {};
  for (const [number, view] of views.versions) {
    if (view)
      versions[number] = {
        version: view.version,
        stage: view.stage,
        status: view.status,
        deleted: view.deleted,
        description: view.description,
        metrics: view.metrics,
        tags: view.tags,
        artifacts: (views.artifacts.get(number) ?? []).map((a) => ({
          path: a.path,
          sha256: a.sha256,
          verdict: a.inspection?.verdict ?? null,
        })),
        signature: view.signature,
      };
  }
  const comments: Record<string, CommentState> = {};
  for (const [id, view] of views.comments) {
    if (view)
      comments[id] = {
        id,
        version: view.version,
        authorId: view.authorId,
        body: view.body,
        deleted: view.deleted,
        edits: view.edited,
      };
  }
  const deployments: Record<string, DeploymentState> = {};
  for (const [key, view] of views.deployments) {
    if (view)
      deployments[key] = {
        version: view.version,
        environment: view.environment,
        endpoint: view.endpoint,
        description: view.description,
        active: view.active,
      };
  }
  const openReviews: Record<string, OpenReview> = {};
  for (const [id, review] of views.reviews) {
    if (review?.status !== "OPEN") continue;
    openReviews[id] = {
      requestId: review.id,
      version: review.version,
      target:
        review.targetKind === "STAGE"
          ? {
              kind: "STAGE",
              stage: review.stage ?? "None",
              archiveExistingVersions: review.archiveExistingVersions,
            }
          : { kind: "ALIAS", alias: review.alias ?? "" },
      requesterId: review.requesterId,
      requiredApprovals: review.requiredApprovals,
      reviewers: review.reviewers,
      allowSelfApproval: review.allowSelfApproval,
      approvals: review.approvals.map((a) => a.reviewerId),
    };
  }
  return {
    comments,
    deployments,
    reviewPolicy: model.reviewPolicy,
    openReviews,
    status: model.deleted ? "deleted" : "live",
    modelId: model.id,
    name: model.name,
    description: model.description,
    tags: model.tags,
    aliases: model.aliases,
    grants: model.grants,
    lastVersion: model.lastVersion,
    versions,
  };
}
