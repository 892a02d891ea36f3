-- One schema for SQLite and PostgreSQL: ids are text (UUIDs), times are
-- Unix milliseconds in BIGINT, flags are INTEGER 0/1.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    units         TEXT NOT NULL,
    max_chats     INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_agent ON sessions(agent_id);

CREATE TABLE visitors (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE TABLE chats (
    id               TEXT PRIMARY KEY,
    visitor_id       TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    unit             TEXT NOT NULL,
    status           TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    agent_id         TEXT REFERENCES agents(id),
    last_seq         BIGINT NOT NULL DEFAULT 0,
    last_note        BIGINT NOT NULL DEFAULT 0,
    close_reason     TEXT NOT NULL DEFAULT '',
    ticket_id        TEXT,
    rating           INTEGER,
    rating_comment   TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    assigned_at      BIGINT,
    closed_at        BIGINT,
    last_activity_at BIGINT NOT NULL
);
-- One open chat per visitor, enforced by the database on every node.
CREATE UNIQUE INDEX chats_one_open ON chats(visitor_id) WHERE status IN ('queued', 'active');
CREATE INDEX chats_visitor ON chats(visitor_id, created_at);
CREATE INDEX chats_agent ON chats(agent_id, status);
CREATE INDEX chats_unit ON chats(status, unit, created_at);
CREATE INDEX chats_activity ON chats(last_activity_at);

-- Messages and internal notes; each kind has its own gapless sequence per chat.
CREATE TABLE messages (
    chat_id     TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    sender_kind TEXT NOT NULL,
    sender_id   TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    text        TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (chat_id, kind, seq)
);
-- A resent client_id finds its message here: same seq, nothing stored twice.
CREATE UNIQUE INDEX messages_client ON messages(chat_id, client_id);

-- Client request ids of state changes other than messages, already applied:
-- a resent client_id gets the stored answer.
CREATE TABLE requests (
    principal  TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    chat_id    TEXT NOT NULL DEFAULT '',
    seq        BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (principal, client_id)
);
CREATE INDEX requests_created ON requests(created_at);

CREATE TABLE tickets (
    id               TEXT PRIMARY KEY,
    unit             TEXT NOT NULL,
    status           TEXT NOT NULL,
    subject          TEXT NOT NULL,
    requester        TEXT NOT NULL,
    visitor_id       TEXT REFERENCES visitors(id) ON DELETE CASCADE,
    email            TEXT NOT NULL DEFAULT '',
    chat_id          TEXT REFERENCES chats(id) ON DELETE SET NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL
);
CREATE INDEX tickets_queue ON tickets(unit, status, created_at);
CREATE INDEX tickets_requester ON tickets(requester, unit, status);
CREATE INDEX tickets_activity ON tickets(last_activity_at);

CREATE TABLE ticket_messages (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    author_kind TEXT NOT NULL,
    author_id   TEXT NOT NULL,
    author_name TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages(ticket_id, created_at);

CREATE TABLE idempotency_keys (
    scope      TEXT NOT NULL,
    key        TEXT NOT NULL,
    status     INTEGER NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    secret     TEXT NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);

CREATE TABLE audit (
    id          TEXT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_object ON audit(object_kind, object_id);
