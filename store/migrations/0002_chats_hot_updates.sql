-- Every batch of messages updates its chats' last_seq and last_note. With
-- neither of them (nor anything else a batch writes) indexed, PostgreSQL can
-- update the row in place (a HOT update) instead of writing a new entry in
-- each of the table's indexes. last_activity_at moves only when the chat
-- changes state, so its index goes; purge finds finished chats by the
-- moment they closed.
DROP INDEX chats_activity;
CREATE INDEX chats_closed ON chats(closed_at) WHERE closed_at IS NOT NULL;
