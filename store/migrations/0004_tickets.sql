-- The written channel: tickets with their entries in order, a timeline of
-- changes, merges, standard replies, API keys limited to units, request
-- idempotency and the webhook outbox.

ALTER TABLE tickets ADD COLUMN merged_into TEXT;
ALTER TABLE tickets ADD COLUMN solved_at BIGINT;
ALTER TABLE tickets ADD COLUMN first_reply_at BIGINT;
ALTER TABLE tickets ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;

-- A unit's queue is read oldest first in pages keyed by (created_at, id);
-- the queue of every unit (admins) by status alone.
DROP INDEX tickets_queue;
CREATE INDEX tickets_queue ON tickets(unit, status, created_at, id);
CREATE INDEX tickets_status ON tickets(status, created_at, id);
CREATE INDEX tickets_visitor ON tickets(visitor_id, created_at);
CREATE INDEX tickets_email ON tickets(email, unit, status) WHERE email <> '';
CREATE INDEX tickets_solved ON tickets(solved_at) WHERE status = 'solved';

-- Entries are numbered per ticket, so their order never depends on the clock.
ALTER TABLE ticket_messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'reply';
ALTER TABLE ticket_messages ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE ticket_messages SET seq = 1;
UPDATE tickets SET last_seq = (SELECT COUNT(*) FROM ticket_messages WHERE ticket_messages.ticket_id = tickets.id);
DROP INDEX ticket_messages_ticket;
CREATE UNIQUE INDEX ticket_messages_seq ON ticket_messages(ticket_id, seq);

-- Every change of a ticket: who, when, what.
CREATE TABLE ticket_events (
    id         TEXT PRIMARY KEY,
    ticket_id  TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    by_kind    TEXT NOT NULL,
    by_id      TEXT NOT NULL,
    by_name    TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    from_value TEXT NOT NULL DEFAULT '',
    to_value   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, at);

ALTER TABLE api_keys ADD COLUMN units TEXT NOT NULL DEFAULT '';

-- The answer given to a request, kept with a hash of the request it answered.
ALTER TABLE idempotency_keys ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

ALTER TABLE webhook_deliveries ADD COLUMN response_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_deliveries ADD COLUMN delivered_at BIGINT;
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, created_at);

-- A closed chat is its own outbox entry: the commit that closes it leaves
-- closed_event = 0 until a node has turned it into webhook deliveries.
ALTER TABLE chats ADD COLUMN closed_event INTEGER NOT NULL DEFAULT 0;
UPDATE chats SET closed_event = 1 WHERE status IN ('closed', 'escalated');
CREATE INDEX chats_close_events ON chats(closed_at) WHERE status = 'closed' AND closed_event = 0;

-- Standard replies; unit '' serves every unit.
CREATE TABLE canned_replies (
    id         TEXT PRIMARY KEY,
    unit       TEXT NOT NULL DEFAULT '',
    lang       TEXT NOT NULL,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX canned_replies_unit ON canned_replies(unit, lang, title);

INSERT INTO canned_replies (id, unit, lang, title, text, created_at, updated_at) VALUES
 ('canned-greet-en', '', 'en', 'Greeting', 'Hello, thank you for writing to us. How can I help you?', 0, 0),
 ('canned-greet-tr', '', 'tr', 'Karşılama', 'Merhaba, bize yazdığınız için teşekkürler. Size nasıl yardımcı olabilirim?', 0, 0),
 ('canned-wait-en', '', 'en', 'One moment', 'Thank you for waiting; I am looking into it now.', 0, 0),
 ('canned-wait-tr', '', 'tr', 'Bir dakika', 'Beklediğiniz için teşekkürler; hemen inceliyorum.', 0, 0),
 ('canned-bye-en', '', 'en', 'Closing', 'Is there anything else I can do for you? Have a nice day.', 0, 0),
 ('canned-bye-tr', '', 'tr', 'Kapanış', 'Yardımcı olabileceğim başka bir konu var mı? İyi günler dileriz.', 0, 0),
 ('canned-account-verify-en', 'account', 'en', 'Verification', 'For your security we need to verify your account. Please upload a photo of your ID from the Verification page of your account.', 0, 0),
 ('canned-account-verify-tr', 'account', 'tr', 'Doğrulama', 'Güvenliğiniz için hesabınızı doğrulamamız gerekiyor. Lütfen hesabınızdaki Doğrulama sayfasından kimliğinizin fotoğrafını yükleyin.', 0, 0),
 ('canned-account-password-en', 'account', 'en', 'Password reset', 'You can set a new password with "Forgot password" on the login page; the link we send is valid for 30 minutes.', 0, 0),
 ('canned-account-password-tr', 'account', 'tr', 'Şifre sıfırlama', 'Giriş sayfasındaki "Şifremi unuttum" ile yeni bir şifre belirleyebilirsiniz; gönderdiğimiz bağlantı 30 dakika geçerlidir.', 0, 0),
 ('canned-technical-cache-en', 'technical', 'en', 'Clear cache', 'Please clear your browser''s cache and cookies, then reload the page. Does the problem remain?', 0, 0),
 ('canned-technical-cache-tr', 'technical', 'tr', 'Önbelleği temizle', 'Lütfen tarayıcınızın önbelleğini ve çerezlerini temizleyip sayfayı yenileyin. Sorun devam ediyor mu?', 0, 0),
 ('canned-financial-withdrawal-en', 'financial', 'en', 'Withdrawal time', 'Withdrawals are processed within 24 hours; bank transfers may take up to 3 business days to arrive.', 0, 0),
 ('canned-financial-withdrawal-tr', 'financial', 'tr', 'Çekim süresi', 'Çekim talepleri 24 saat içinde işlenir; banka havalelerinin hesabınıza ulaşması 3 iş gününü bulabilir.', 0, 0),
 ('canned-general-ticket-en', 'general', 'en', 'Continue in writing', 'I will continue this in writing as a ticket; you will find our answer under your past conversations.', 0, 0),
 ('canned-general-ticket-tr', 'general', 'tr', 'Yazılı devam', 'Bu konuya yazılı olarak, bir talep üzerinden devam edeceğim; yanıtımızı geçmiş görüşmelerinizde bulabilirsiniz.', 0, 0);
