-- The sample host's admin console (issue 13): runtime settings, feedback, the waitlist and the hourly analytics
-- aggregates. {schema} is replaced with the quoted schema name (qrcalling_sample by default). Every statement is
-- idempotent: the store runs this file on first use, as the account store creates its tables.
CREATE SCHEMA IF NOT EXISTS {schema};
-- One row (id = 1): the settings as one JSON document; no row means the defaults.
CREATE TABLE IF NOT EXISTS {schema}.admin_settings (
    id       smallint PRIMARY KEY CHECK (id = 1),
    settings text     NOT NULL
);
-- Feedback: a message and an optional contact left by anyone; the newest are kept, older ones are deleted.
CREATE TABLE IF NOT EXISTS {schema}.feedback (
    seq     bigserial   PRIMARY KEY,
    id      text        NOT NULL UNIQUE,
    at      timestamptz NOT NULL,
    message text        NOT NULL,
    contact text        NULL
);
-- The waitlist: an address kept only until an admin deletes it or the retention sweep does (by at).
CREATE TABLE IF NOT EXISTS {schema}.waitlist (
    id        text        PRIMARY KEY,
    email_key text        NOT NULL UNIQUE,
    email     text        NOT NULL,
    at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS waitlist_at_idx ON {schema}.waitlist (at);
-- Analytics: counts per hour, metric and outcome only (no per-user or per-code series).
CREATE TABLE IF NOT EXISTS {schema}.analytics_hourly (
    hour    timestamptz NOT NULL,
    metric  text        NOT NULL,
    outcome text        NOT NULL,
    count   bigint      NOT NULL,
    PRIMARY KEY (hour, metric, outcome)
);
