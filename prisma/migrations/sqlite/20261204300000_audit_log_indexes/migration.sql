-- The audit log (src/audit/auditLogQuery.ts) filters the whole registry's log by a time window
-- (`from`/`to` on occurred_at). Without this index a narrow window over a long log scans every
-- event from the first position; with it the database reads only the window.
CREATE INDEX "events_occurred_at_idx" ON "events"("occurred_at");
