-- Every batch of messages updates its chats' last_seq, last_note and
-- last_activity_at. With none of them indexed, PostgreSQL can update the
-- row in place (a HOT update) instead of writing a new entry in each of the
-- table's indexes. Purge finds finished chats by the moment they closed.
DROP INDEX chats_activity;
CREATE INDEX chats_closed ON chats(closed_at) WHERE closed_at IS NOT NULL;
