// Schemas of deployment events read back from the store (schema version 1 of each); they join the
// model stream's table in src/domain/registeredModel/eventSchemas.ts.
import { z } from "zod";

const version = z.number().int().positive();
const environment = z.string().min(1);

export const DEPLOYMENT_EVENT_SCHEMAS = {
  ModelVersionDeployed: z.object({
    version,
    environment,
    endpoint: z.string().min(1),
    description: z.string().nullable(),
  }),
  ModelVersionDeploymentRetired: z.object({ version, environment, reason: z.string().nullable() }),
};
