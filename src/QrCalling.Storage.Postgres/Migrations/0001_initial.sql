-- QrCalling storage, version 1. {schema} is replaced with the quoted schema name.
-- Only keyed hashes of tokens are stored (key_hash, call_token_hash); never a token, payload or call token.

CREATE TABLE {schema}.codes (
    id              text        PRIMARY KEY,
    owner_id        text        NOT NULL,
    key_hash        bytea       NOT NULL,
    label           text        NOT NULL DEFAULT '',
    media           integer     NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NULL,
    max_scans       integer     NULL,
    scan_count      integer     NOT NULL DEFAULT 0,
    last_scanned_at timestamptz NULL,
    revoked_at      timestamptz NULL,
    CONSTRAINT codes_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX codes_owner_created_idx ON {schema}.codes (owner_id, created_at DESC);
CREATE INDEX codes_expires_idx ON {schema}.codes (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX codes_revoked_idx ON {schema}.codes (revoked_at) WHERE revoked_at IS NOT NULL;

-- No foreign key to codes: a call stays in its owner's history after its code is deleted by the sweep.
CREATE TABLE {schema}.calls (
    call_id            text        PRIMARY KEY,
    code_id            text        NOT NULL,
    owner_id           text        NOT NULL,
    caller_id          text        NOT NULL,
    callee_id          text        NOT NULL,
    call_token_hash    bytea       NOT NULL,
    label              text        NOT NULL DEFAULT '',
    media              integer     NOT NULL,
    state              text        NOT NULL CHECK (state IN ('ringing', 'active', 'ended')),
    end_reason         text        NULL,
    created_at         timestamptz NOT NULL,
    ring_expires_at    timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    answered_at        timestamptz NULL,
    ended_at           timestamptz NULL,
    accepted_device_id text        NULL,
    caller_gone_since  timestamptz NULL,
    callee_gone_since  timestamptz NULL,
    CONSTRAINT calls_call_token_hash_key UNIQUE (call_token_hash)
);
CREATE INDEX calls_owner_created_idx ON {schema}.calls (owner_id, created_at DESC, call_id DESC);
CREATE INDEX calls_open_idx ON {schema}.calls (created_at, call_id) WHERE state <> 'ended';
CREATE INDEX calls_open_code_idx ON {schema}.calls (code_id) WHERE state <> 'ended';
CREATE INDEX calls_ended_idx ON {schema}.calls (ended_at) WHERE ended_at IS NOT NULL;

-- One row per mailbox: the last seq given out. Appends lock this row, which serializes them per call (gap-free seq).
CREATE TABLE {schema}.mailbox_heads (
    call_id  text   PRIMARY KEY,
    last_seq bigint NOT NULL
);

-- data is the event's raw JSON text, relayed unchanged (text, not jsonb, so nothing is normalized).
CREATE TABLE {schema}.mailbox (
    call_id   text        NOT NULL,
    seq       bigint      NOT NULL,
    type      text        NOT NULL,
    sender    text        NOT NULL,
    recipient text        NULL CHECK (recipient IN ('caller', 'callee')),
    data      text        NOT NULL,
    at        timestamptz NOT NULL,
    PRIMARY KEY (call_id, seq)
);
