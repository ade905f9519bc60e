-- Web Push: owners' push subscriptions (one per browser that asked to be rung) and the server's generated VAPID key
-- pair (one row, shared by every instance). Neither holds caller data; the endpoint is a capability URL.
CREATE TABLE {schema}.push_subscriptions (
    owner_id   text        NOT NULL,
    endpoint   text        NOT NULL,
    p256dh     text        NOT NULL,
    auth       text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (owner_id, endpoint)
);

CREATE TABLE {schema}.push_vapid_keys (
    id          smallint PRIMARY KEY CHECK (id = 1),
    public_key  text     NOT NULL,
    private_key text     NOT NULL
);
