import { createContext, useContext } from "react";
import type { ModelPermission, ViewerQuery } from "./generated/graphql.ts";

export type Viewer = ViewerQuery["viewer"];

export const ViewerContext = createContext<Viewer | null>(null);

export function useViewer(): Viewer {
  const viewer = useContext(ViewerContext);
  if (viewer === null) throw new Error("useViewer outside ViewerContext");
  return viewer;
}

const RANK: Record<ModelPermission, number> = { READ: 0, EDIT: 1, MANAGE: 2 };

/** Whether `held` (the API's `myPermission`) includes `needed`. */
export const allows = (held: ModelPermission, needed: ModelPermission) => RANK[held] >= RANK[needed];
