-- The mailbox as a window: byte budgets per recipient side, acknowledgements that trim, reads filtered by side.
-- Works on a schema at version 2 with rows in it: the sizes and pending bytes of existing entries are computed here.

-- What an entry costs against its recipient's budget: MailboxEntry.Size (UTF-8 length of the data + 64; the database
-- encoding is UTF-8). Generated, so it can never disagree with the data.
-- UNLOGGED (no WAL): an append commits without waiting for a WAL flush. The entries are lost when PostgreSQL crashes
-- (and on a failover to a replica), never on a clean restart. See PACKAGE.md.
ALTER TABLE {schema}.mailbox
    ADD COLUMN size integer GENERATED ALWAYS AS (octet_length(data) + 64) STORED,
    SET UNLOGGED;

-- Reads by side (recipient = side, then recipient IS NULL, each in seq order) and acknowledgements (one side's
-- entries up to a seq) are range scans of this index.
CREATE INDEX mailbox_side_idx ON {schema}.mailbox (call_id, recipient, seq);

-- The head row also holds each side's unacknowledged bytes; appends check and charge them under the row's lock.
-- UNLOGGED with the entries it counts, so that after a crash both are empty together.
ALTER TABLE {schema}.mailbox_heads
    ADD COLUMN caller_pending bigint NOT NULL DEFAULT 0,
    ADD COLUMN callee_pending bigint NOT NULL DEFAULT 0,
    SET UNLOGGED;

-- Nothing was acknowledged before this version: every stored entry to a side is pending. (A head is also made for
-- entries without one, which version 2 never left.)
INSERT INTO {schema}.mailbox_heads AS h (call_id, last_seq, caller_pending, callee_pending)
SELECT call_id, max(seq),
       coalesce(sum(size) FILTER (WHERE recipient = 'caller'), 0),
       coalesce(sum(size) FILTER (WHERE recipient = 'callee'), 0)
FROM {schema}.mailbox
GROUP BY call_id
ON CONFLICT (call_id) DO UPDATE SET
    last_seq = GREATEST(h.last_seq, EXCLUDED.last_seq),
    caller_pending = EXCLUDED.caller_pending,
    callee_pending = EXCLUDED.callee_pending;

-- Durable (in the logged calls table): how many times this call's head row was created. A head is created by the
-- call's first append, and again only when a crash emptied the unlogged tables; a head created at epoch e starts its
-- seqs at e * 2^32 + 1, so seqs after a crash continue past every seq given out before it (clients see a gap, never a
-- seq again). Calls that already have a head are at epoch 1.
ALTER TABLE {schema}.calls ADD COLUMN mailbox_epoch integer NOT NULL DEFAULT 0;
UPDATE {schema}.calls c SET mailbox_epoch = 1 FROM {schema}.mailbox_heads h WHERE h.call_id = c.call_id;
