// The audit export route's path, apart from the route: the request log (src/monitoring) names it as a
// route template, and importing it from the route would close an import cycle through src/http.
export const AUDIT_EXPORT_PATH = "/audit/export";
