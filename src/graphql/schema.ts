// The schema is the sum of the type modules; importing them registers their types and fields.
import { lexicographicSortSchema } from "graphql";
import { builder } from "./builder.ts";
import { guardArguments } from "./guardArguments.ts";
import { boundResolvedItems } from "./resolvedItemBound.ts";
import { synchronousNodeIds } from "./synchronousNodeIds.ts";
import "./types/errors.ts";
import "./types/common.ts";
import { registryEventNodeId } from "./types/registryEvent.ts";
import { registeredModelNodeId } from "./types/registeredModel.ts";
import { modelVersionNodeId } from "./types/modelVersion.ts";
import "./types/registeredModelAsOf.ts";
import "./types/artifact.ts";
import "./types/artifactInspection.ts";
import "./types/modelSignature.ts";
import "./types/modelVersionStageChange.ts";
import "./types/registeredModelAliasChange.ts";
import "../access/graphql/accessTypes.ts";
import "../access/graphql/accessMutations.ts";
import "../access/graphql/modelPermissions.ts";
import "../audit/graphql/auditCheckpoints.ts";
import "../audit/graphql/auditLog.ts";
import "../comments/graphql/comments.ts";
import "../deployments/graphql/deployments.ts";
import "../reviews/graphql/reviewTypes.ts";
import "../reviews/graphql/reviewMutations.ts";
import "../reviews/graphql/reviewSubscription.ts";
import "../webhooks/graphql/webhookTypes.ts";
import "../webhooks/graphql/webhookMutations.ts";
import "../usage/graphql/usageTypes.ts";
import "../usage/graphql/reportModelServing.ts";

export const schema = boundResolvedItems(
  guardArguments(
    synchronousNodeIds(lexicographicSortSchema(builder.toSchema()), {
      RegisteredModel: registeredModelNodeId,
      ModelVersion: modelVersionNodeId,
      RegistryEvent: registryEventNodeId,
    }),
  ),
);
