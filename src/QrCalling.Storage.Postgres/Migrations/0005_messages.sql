-- Leave-a-message: each owner's public key for messages, and the messages callers left after unanswered calls.
-- Only ciphertext and public values are stored (the caller's one-time public key, the nonce); never the text or a key
-- that opens it. Messages live until their owner deletes them or expires_at passes (the sweep deletes them then).

CREATE TABLE {schema}.message_keys (
    owner_id    text        PRIMARY KEY,
    public_key  text        NOT NULL,
    key_id      text        NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE {schema}.messages (
    message_id           text        PRIMARY KEY,
    owner_id             text        NOT NULL,
    call_id              text        NOT NULL,
    code_id              text        NOT NULL,
    label                text        NOT NULL DEFAULT '',
    key_id               text        NOT NULL,
    ephemeral_public_key text        NOT NULL,
    iv                   text        NOT NULL,
    ciphertext           text        NOT NULL,
    created_at           timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    -- One message per call, whoever races.
    CONSTRAINT messages_call_key UNIQUE (call_id)
);
CREATE INDEX messages_owner_created_idx ON {schema}.messages (owner_id, created_at DESC);
CREATE INDEX messages_expires_idx ON {schema}.messages (expires_at);
