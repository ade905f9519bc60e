-- Code management and owner settings. {schema} is replaced with the quoted schema name.
-- code_media: the media the code allowed when the call started (a chat in the call needs chat in it). Rows written
-- before this migration have NULL, read as every media kind (what those calls were allowed). No data is rewritten,
-- so adding the column takes no table rewrite.
ALTER TABLE {schema}.calls ADD COLUMN code_media integer NULL;
