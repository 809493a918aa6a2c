// The stages a model version is served from. Shared by the model stream's events and the review
// context's targets, so neither has to import the other for it.
export const STAGES = ["None", "Staging", "Production", "Archived"] as const;
export type Stage = (typeof STAGES)[number];
