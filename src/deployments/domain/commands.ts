// Commands on deployments. Serving systems send them (with EDIT on the model): they report what
// they did, so the rules check the report is well-formed and about a version that can be served.

type Command<Type extends string, Data> = {
  readonly type: Type;
  readonly data: Data;
};

export type RecordModelVersionDeployment = Command<
  "RecordModelVersionDeployment",
  { version: number; environment: string; endpoint: string; description: string | null }
>;
export type RetireModelVersionDeployment = Command<
  "RetireModelVersionDeployment",
  { version: number; environment: string; reason: string | null }
>;

export type ModelVersionDeploymentCommand = RecordModelVersionDeployment | RetireModelVersionDeployment;
