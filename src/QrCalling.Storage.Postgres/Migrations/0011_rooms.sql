-- Meet-now rooms (issue 12). {schema} is replaced with the quoted schema name.
-- One row per room holds its whole state as a JSON document (participants with their token hashes and published keys,
-- and the bounded per-recipient ciphertext history, at most QrCalling:Rooms:HistoryBytes plus overhead): every change
-- takes the row lock (SELECT … FOR UPDATE), applies the rules that every store shares (participant cap, seq, windows,
-- history bounds) and writes the row back in the same transaction, so each change is atomic. The room secret is kept
-- only as a keyed hash inside the document. The table is logged (unlike the call mailbox): a crash of PostgreSQL loses
-- no room, at the cost of one WAL write per relayed message.
CREATE TABLE {schema}.rooms (
    room_id          text        PRIMARY KEY,
    doc              text        NOT NULL,
    expires_at       timestamptz NOT NULL,
    last_activity_at timestamptz NOT NULL
);
CREATE INDEX rooms_expires_at ON {schema}.rooms (expires_at);
CREATE INDEX rooms_last_activity_at ON {schema}.rooms (last_activity_at);

-- Participant tokens by keyed hash, deleted with their room.
CREATE TABLE {schema}.room_tokens (
    token_hash     bytea PRIMARY KEY,
    room_id        text  NOT NULL REFERENCES {schema}.rooms (room_id) ON DELETE CASCADE,
    participant_id text  NOT NULL
);
CREATE INDEX room_tokens_room ON {schema}.room_tokens (room_id);
