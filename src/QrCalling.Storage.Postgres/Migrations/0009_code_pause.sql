-- Pause and resume (issue 13). {schema} is replaced with the quoted schema name.
-- paused_at: since when the owner has paused the code; NULL while not paused. A paused code answers a scan like an
-- unavailable one (the scan statement checks paused_at IS NULL). Adding a nullable column rewrites no rows.
ALTER TABLE {schema}.codes ADD COLUMN paused_at timestamptz NULL;
