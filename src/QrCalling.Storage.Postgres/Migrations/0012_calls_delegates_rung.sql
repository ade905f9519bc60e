-- Whether any delegate was rung for a call (issue 9: fewer statements per call set-up). {schema} is replaced with the
-- quoted schema name. A ring mark sets it in the same statement that inserts into delegate_rings, so an accept or end
-- that returns it false needs no read of delegate_rings: no delegate has to hear of that call. Adding a column with a
-- constant default rewrites no rows. Calls already rung before this migration get it from their marks.
-- During a rolling upgrade, a mark made by an instance that predates this migration does not set it: a delegate rung by
-- such an instance may miss the ring-stop of that call.
ALTER TABLE {schema}.calls ADD COLUMN delegates_rung boolean NOT NULL DEFAULT false;
UPDATE {schema}.calls c SET delegates_rung = true WHERE EXISTS (SELECT 1 FROM {schema}.delegate_rings r WHERE r.call_id = c.call_id);
