/**
 * Version of the inspection rules (parsers, allow/deny lists, verdict grading), recorded with every
 * inspection. Bump it whenever a change could alter a verdict, so re-inspections can be told apart.
 */
export const INSPECTOR_VERSION = "1.5.1";
