-- The audit log becomes a hash chain: each row's hash covers its fields and
-- the hash of the row before it. The one row of audit_chain is the chain's
-- head (the last row's seq and hash), which every writer locks, so rows
-- written on several nodes at once still form one chain; and its start
-- (the first kept row's seq and the hash it follows), which moves only when
-- old rows are purged.
ALTER TABLE audit ADD COLUMN seq BIGINT;
ALTER TABLE audit ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX audit_seq ON audit(seq);
CREATE INDEX audit_actor ON audit(actor_id, seq);
CREATE INDEX audit_action ON audit(action, seq);

CREATE TABLE audit_chain (
    id         INTEGER PRIMARY KEY,
    head_seq   BIGINT NOT NULL,
    head_hash  TEXT NOT NULL,
    first_seq  BIGINT NOT NULL,
    first_prev TEXT NOT NULL
);
INSERT INTO audit_chain (id, head_seq, head_hash, first_seq, first_prev) VALUES (1, 0, '', 1, '');

-- Visitor tokens: each token a visitor holds (one per device) is a row, so
-- it can be revoked and expires when unused. last_used_at moves at most
-- once per touch interval, not on every request.
CREATE TABLE visitor_tokens (
    id           TEXT PRIMARY KEY,
    visitor_id   TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX visitor_tokens_visitor ON visitor_tokens(visitor_id);
CREATE INDEX visitor_tokens_used ON visitor_tokens(last_used_at);

-- A verified visitor is known by the site's own id of the customer, the
-- same on every device.
ALTER TABLE visitors ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX visitors_external ON visitors(external_id) WHERE external_id IS NOT NULL;
CREATE INDEX visitors_seen ON visitors(last_seen_at);
