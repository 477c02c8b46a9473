-- Projection throughput (docs/benchmarks.md, "Issue 11: parallel writers"):
-- audit_log_principal cost every event an index entry, and no query of the
-- API or the tools reads audit_log by principal (operators' ad-hoc queries
-- in docs/ filter by time and reason). audit_log keeps its primary key
-- (at, seq) and audit_log_seq, which the projector's clean-up of rows above
-- the checkpoint uses.
DROP INDEX IF EXISTS audit_log_principal;
