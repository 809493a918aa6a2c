// The shapes of the API objects the commands select (each query selects these fields).
export interface PrincipalView {
  id: string;
  displayName: string;
  email: string | null;
  kind: string;
  role: string;
  disabled: boolean;
  createdAt: string;
  teams: { name: string }[];
}

export interface ApiTokenView {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt?: string;
  expiresAt: string | null;
  lastUsedAt?: string | null;
  revoked?: boolean;
  revokedAt?: string | null;
}

export interface TeamView {
  id: string;
  name: string;
  createdAt: string;
  members: { id: string; displayName: string }[];
}

export interface VersionSummary {
  model?: { name: string };
  version: number;
  stage: string;
  status: string;
  aliases: string[];
  createdAt: string;
  createdBy: string;
  metrics?: { key: string; value: number }[];
  artifacts?: { verdict: string | null }[];
}

export interface ModelSummary {
  name: string;
  modelId: string;
  description: string;
  createdAt: string;
  createdBy: string;
  deleted: boolean;
  revision: number;
  tags: { key: string; value: string }[];
  aliases: { alias: string; version: number }[];
  reviewPolicy: { stage: string | null; aliasPattern: string | null; requiredApprovals: number }[];
  versions: { totalCount: number; nodes: VersionSummary[] };
}
