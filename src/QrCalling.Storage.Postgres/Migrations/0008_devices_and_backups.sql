-- Devices paired by QR and owners' client-encrypted backups (issue 14). {schema} is replaced with the quoted schema name.
-- Secrets are kept as keyed hashes only: a pairing's secret (single use, a few minutes) and a device's token.
CREATE TABLE {schema}.device_pairings (
    secret_hash bytea       PRIMARY KEY,
    owner_id    text        NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX device_pairings_expires_at ON {schema}.device_pairings (expires_at);
CREATE INDEX device_pairings_owner ON {schema}.device_pairings (owner_id);

CREATE TABLE {schema}.devices (
    device_id    text        PRIMARY KEY,
    owner_id     text        NOT NULL,
    name         text        NOT NULL,
    token_hash   bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NULL,
    confirmed    boolean     NOT NULL,
    check_code   text        NOT NULL
);
CREATE INDEX devices_owner ON {schema}.devices (owner_id, created_at);

-- The last version number given per owner (numbers are never reused), and the versions themselves: opaque bytes the
-- client encrypted, written in one statement (an interrupted upload never reaches the database).
CREATE TABLE {schema}.backup_heads (
    owner_id     text   PRIMARY KEY,
    last_version bigint NOT NULL
);
CREATE TABLE {schema}.backups (
    owner_id   text        NOT NULL,
    version    bigint      NOT NULL,
    content    bytea       NOT NULL,
    size       bigint      NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (owner_id, version)
);
CREATE INDEX backups_expires_at ON {schema}.backups (expires_at);
