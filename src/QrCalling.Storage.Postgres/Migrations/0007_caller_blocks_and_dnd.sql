-- Who may call, and when (issue 14). {schema} is replaced with the quoted schema name.
-- Everything here belongs to one code and goes with it: ON DELETE CASCADE, whether the owner deletes the code or the
-- sweep of stale codes does, and an insert for a code being deleted fails on the foreign key (the store stores nothing).
-- code_policies: quiet hours (minutes after local midnight, days as bit flags Sunday = 1 .. Saturday = 64, an IANA time
-- zone id) and the chat-only mode; no row means no restriction.
CREATE TABLE {schema}.code_policies (
    code_id     text     PRIMARY KEY REFERENCES {schema}.codes (id) ON DELETE CASCADE,
    chat_only   boolean  NOT NULL,
    quiet_start smallint NULL,
    quiet_end   smallint NULL,
    quiet_days  smallint NULL,
    time_zone   text     NULL
);
-- caller_blocks: a caller blocked on one code, by its per-code pseudonym (a keyed hash; never the caller key).
CREATE TABLE {schema}.caller_blocks (
    block_id   text        PRIMARY KEY,
    code_id    text        NOT NULL REFERENCES {schema}.codes (id) ON DELETE CASCADE,
    pseudonym  bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (code_id, pseudonym)
);
-- call_callers: which pseudonym started a call, so the owner can block "the caller of this call"; kept as long as the
-- call's history, then swept by expires_at.
CREATE TABLE {schema}.call_callers (
    call_id    text        PRIMARY KEY,
    code_id    text        NOT NULL REFERENCES {schema}.codes (id) ON DELETE CASCADE,
    pseudonym  bytea       NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX call_callers_code_idx ON {schema}.call_callers (code_id);
CREATE INDEX call_callers_expires_idx ON {schema}.call_callers (expires_at);
