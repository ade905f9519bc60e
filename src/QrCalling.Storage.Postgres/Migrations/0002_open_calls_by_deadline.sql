-- The sweep lists open calls most urgent first (CallRecord.NextDeadline, then call id, ordinal), so long, healthy
-- calls never hide calls that rang out or dropped. The expression must stay identical to PostgresCallStore's query.
DROP INDEX IF EXISTS {schema}.calls_open_idx;
CREATE INDEX calls_open_deadline_idx ON {schema}.calls
    ((LEAST(CASE WHEN state = 'ringing' THEN ring_expires_at ELSE expires_at END, caller_gone_since, callee_gone_since)),
     (call_id COLLATE "C"))
    WHERE state <> 'ended';
