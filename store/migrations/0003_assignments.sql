-- Why each chat went where it went: one row per assignment, requeue or
-- transfer, with the candidates weighed (JSON) at that instant.
CREATE TABLE assignments (
    id            TEXT PRIMARY KEY,
    chat_id       TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    at            BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    unit          TEXT NOT NULL,
    agent_id      TEXT NOT NULL DEFAULT '',
    from_agent_id TEXT NOT NULL DEFAULT '',
    rule          TEXT NOT NULL,
    waited_ms     BIGINT NOT NULL DEFAULT 0,
    candidates    TEXT NOT NULL DEFAULT '[]',
    by_kind       TEXT NOT NULL DEFAULT '',
    by_id         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX assignments_chat ON assignments(chat_id, at);
