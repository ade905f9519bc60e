-- Delegates (issue 14): other accounts that also answer an owner's code once a call rang unanswered for a while.
-- {schema} is replaced with the quoted schema name. Invitations keep only the keyed hash of their secret. Everything
-- about a code goes with the code (ON DELETE CASCADE).
CREATE TABLE {schema}.delegate_invitations (
    secret_hash   bytea       PRIMARY KEY,
    owner_id      text        NOT NULL,
    code_id       text        NOT NULL REFERENCES {schema}.codes (id) ON DELETE CASCADE,
    ring_after_ms integer     NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX delegate_invitations_expires_at ON {schema}.delegate_invitations (expires_at);
CREATE INDEX delegate_invitations_owner ON {schema}.delegate_invitations (owner_id);
CREATE INDEX delegate_invitations_code ON {schema}.delegate_invitations (code_id);

CREATE TABLE {schema}.delegates (
    delegate_id       text        PRIMARY KEY,
    code_id           text        NOT NULL REFERENCES {schema}.codes (id) ON DELETE CASCADE,
    owner_id          text        NOT NULL,
    delegate_owner_id text        NOT NULL,
    ring_after_ms     integer     NOT NULL,
    created_at        timestamptz NOT NULL,
    UNIQUE (code_id, delegate_owner_id)
);
CREATE INDEX delegates_delegate_owner ON {schema}.delegates (delegate_owner_id, created_at);
CREATE INDEX delegates_owner ON {schema}.delegates (owner_id);

-- Which delegates were rung for which call: the primary key makes marking atomic across host instances.
CREATE TABLE {schema}.delegate_rings (
    call_id           text        NOT NULL,
    delegate_id       text        NOT NULL,
    delegate_owner_id text        NOT NULL,
    expires_at        timestamptz NOT NULL,
    PRIMARY KEY (call_id, delegate_id)
);
CREATE INDEX delegate_rings_expires_at ON {schema}.delegate_rings (expires_at);

-- Pending devices (never confirmed) are swept after QrCalling:PendingDeviceLifetime.
CREATE INDEX devices_pending ON {schema}.devices (created_at) WHERE NOT confirmed;
