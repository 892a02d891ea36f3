-- Email addresses are stored in one form (trimmed, lower case), so a
-- requester who writes Can@Example.com once and can@example.com later is
-- one requester.
UPDATE visitors SET email = LOWER(TRIM(email)) WHERE email <> LOWER(TRIM(email));
UPDATE tickets SET email = LOWER(TRIM(email)) WHERE email <> LOWER(TRIM(email));

-- An answer that held a secret (an API key, a webhook secret, a token) is
-- kept without it: a repeat of its request is told the secret was shown
-- once rather than given it again.
ALTER TABLE idempotency_keys ADD COLUMN secret INTEGER NOT NULL DEFAULT 0;

-- Who ended a chat: kind visitor, agent, supervisor, admin, apikey or
-- system, with id and name, stored when it ends rather than guessed from
-- its reason afterwards. Chats ended before this migration keep ''.
ALTER TABLE chats ADD COLUMN closed_by_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE chats ADD COLUMN closed_by_id TEXT NOT NULL DEFAULT '';
ALTER TABLE chats ADD COLUMN closed_by_name TEXT NOT NULL DEFAULT '';

-- Webhook redelivery: retries run for their window from retry_from (the
-- event, or its last redelivery), and leased_until marks a delivery a node
-- is sending now, which is not redelivered meanwhile.
ALTER TABLE webhook_deliveries ADD COLUMN retry_from BIGINT NOT NULL DEFAULT 0;
UPDATE webhook_deliveries SET retry_from = created_at;
ALTER TABLE webhook_deliveries ADD COLUMN leased_until BIGINT NOT NULL DEFAULT 0;
