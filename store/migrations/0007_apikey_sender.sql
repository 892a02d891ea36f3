-- An API key's ticket replies and events were stored as kind system (with
-- the key's id); they are kind apikey, as closed_by and the audit log say.
-- The server's own (autoclose) keep system.
UPDATE ticket_messages SET author_kind = 'apikey' WHERE author_kind = 'system' AND author_id IN (SELECT id FROM api_keys);
UPDATE ticket_events SET by_kind = 'apikey' WHERE by_kind = 'system' AND by_id IN (SELECT id FROM api_keys);
