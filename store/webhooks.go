package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
)

type Webhook = chat.Webhook

type Delivery = chat.Delivery

type webhookRow struct {
	ID        string `db:"id"`
	URL       string `db:"url"`
	Events    string `db:"events"`
	Secret    string `db:"secret"`
	CreatedAt int64  `db:"created_at"`
}

func (r webhookRow) webhook() *Webhook {
	return &Webhook{ID: r.ID, URL: r.URL, Events: strings.Split(r.Events, ","), CreatedAt: msTime(r.CreatedAt)}
}

// CreateWebhook stores a subscription with a new secret, returned only here.
func (db *DB) CreateWebhook(ctx context.Context, url string, events []string) (*Webhook, error) {
	w := &Webhook{ID: uuid.NewString(), URL: url, Events: events, Secret: "whsec_" + randomHex(24)}
	t := now()
	w.CreatedAt = msTime(t)
	if _, err := db.x.ExecContext(ctx, db.rebind("INSERT INTO webhooks (id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?)"),
		w.ID, url, strings.Join(events, ","), w.Secret, t); err != nil {
		return nil, fmt.Errorf("create webhook: %w", err)
	}
	return w, nil
}

// Webhooks lists the subscriptions, oldest first, without their secrets.
func (db *DB) Webhooks(ctx context.Context) ([]*Webhook, error) {
	var rows []webhookRow
	if err := db.x.SelectContext(ctx, &rows, "SELECT id, url, events, secret, created_at FROM webhooks WHERE disabled = 0 ORDER BY created_at, id"); err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	out := make([]*Webhook, len(rows))
	for i, r := range rows {
		out[i] = r.webhook()
	}
	return out, nil
}

// DeleteWebhook removes a subscription and its delivery log.
func (db *DB) DeleteWebhook(ctx context.Context, id string) error {
	res, err := db.x.ExecContext(ctx, db.rebind("DELETE FROM webhooks WHERE id = ?"), id)
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.ENotFound, "no such webhook")
	}
	return nil
}

// eventBody is what every webhook POST carries.
type eventBody struct {
	ID        string `json:"id"` // the delivery id, as in X-Chat-Delivery
	Event     string `json:"event"`
	CreatedAt string `json:"created_at"`
	Data      any    `json:"data"`
}

// emit writes the webhook deliveries of an event in tx, the transaction of
// the change it reports: a committed change always has its deliveries, and
// a rolled-back one never does. Data is built from stored (masked) text.
func (db *DB) emit(ctx context.Context, tx *sqlx.Tx, event string, data any) error {
	var hooks []webhookRow
	if err := tx.SelectContext(ctx, &hooks, "SELECT id, url, events, secret, created_at FROM webhooks WHERE disabled = 0"); err != nil {
		return fmt.Errorf("emit %s: %w", event, err)
	}
	t := now()
	for _, h := range hooks {
		if !slices.Contains(strings.Split(h.Events, ","), event) {
			continue
		}
		id := uuid.NewString()
		body, err := json.Marshal(eventBody{ID: id, Event: event, CreatedAt: msTime(t).Format(time.RFC3339Nano), Data: data})
		if err != nil {
			return fmt.Errorf("emit %s: %w", event, err)
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO webhook_deliveries (id, webhook_id, event, body, status, next_attempt_at, created_at, retry_from)
			VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`), id, h.ID, event, string(body), t, t, t); err != nil {
			return fmt.Errorf("emit %s: %w", event, err)
		}
	}
	return nil
}

// EmitClosedChats turns up to limit closed chats not yet reported into
// chat.closed deliveries. The commit that closed a chat left it marked
// (closed_event = 0), so no close is lost whichever node or path closed it;
// each is claimed by one node (SKIP LOCKED on PostgreSQL; SQLite has one
// writer) and marked in the same transaction as its deliveries.
func (db *DB) EmitClosedChats(ctx context.Context, limit int) (int, error) {
	// A read first: most of the time there is nothing to do, and SQLite's
	// write lock is not taken for nothing every poll.
	if found, err := db.exists(ctx, "SELECT 1 FROM chats WHERE status = 'closed' AND closed_event = 0 LIMIT 1"); err != nil || !found {
		return 0, err
	}
	skip := ""
	if db.engine == Postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	n := 0
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var rows []chatRow
		if err := tx.SelectContext(ctx, &rows, db.rebind("SELECT "+chatCols+" FROM chats WHERE status = 'closed' AND closed_event = 0 ORDER BY closed_at LIMIT ?"+skip), limit); err != nil {
			return err
		}
		for _, r := range rows {
			c := r.chat()
			if err := db.emit(ctx, tx, "chat.closed", map[string]any{"chat": c}); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, db.rebind("UPDATE chats SET closed_event = 1 WHERE id = ?"), c.ID); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("emit closed chats: %w", err)
	}
	return n, nil
}

// exists reports whether query finds a row.
func (db *DB) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := db.x.GetContext(ctx, &one, db.rebind(query), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("outbox: %w", err)
	}
	return true, nil
}

const deliveryCols = `d.id, d.webhook_id, d.event, d.body, d.status, d.attempts, d.next_attempt_at, d.last_error, d.response_status, d.created_at, d.delivered_at, d.retry_from`

type deliveryRow struct {
	ID             string        `db:"id"`
	WebhookID      string        `db:"webhook_id"`
	Event          string        `db:"event"`
	Body           string        `db:"body"`
	Status         string        `db:"status"`
	Attempts       int           `db:"attempts"`
	NextAttemptAt  int64         `db:"next_attempt_at"`
	LastError      string        `db:"last_error"`
	ResponseStatus int           `db:"response_status"`
	CreatedAt      int64         `db:"created_at"`
	DeliveredAt    sql.NullInt64 `db:"delivered_at"`
	RetryFrom      int64         `db:"retry_from"`
	URL            string        `db:"url"`
	Secret         string        `db:"secret"`
}

func (r deliveryRow) delivery() *Delivery {
	return &Delivery{ID: r.ID, WebhookID: r.WebhookID, Event: r.Event, Body: r.Body, Status: r.Status, Attempts: r.Attempts,
		NextAttemptAt: msTime(r.NextAttemptAt), LastError: r.LastError, ResponseStatus: r.ResponseStatus,
		CreatedAt: msTime(r.CreatedAt), DeliveredAt: nullTime(r.DeliveredAt), RetryFrom: msTime(r.RetryFrom), URL: r.URL, Secret: r.Secret}
}

// ClaimDeliveries takes up to limit pending deliveries that are due and
// leases them to the caller for lease: their next attempt moves past it,
// so no other node takes them meanwhile, and a node that dies holding one
// only delays it. Each claim counts as an attempt.
func (db *DB) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]*Delivery, error) {
	t := now()
	if found, err := db.exists(ctx, "SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1", t); err != nil || !found {
		return nil, err
	}
	var out []*Delivery
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		skip := ""
		if db.engine == Postgres {
			skip = " FOR UPDATE OF d SKIP LOCKED"
		}
		var rows []deliveryRow
		if err := tx.SelectContext(ctx, &rows, db.rebind(`SELECT `+deliveryCols+`, w.url, w.secret FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at LIMIT ?`+skip), t, limit); err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, db.rebind("UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, leased_until = ? WHERE id = ?"),
				t+lease.Milliseconds(), t+lease.Milliseconds(), r.ID); err != nil {
				return err
			}
			r.Attempts++
			out = append(out, r.delivery())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// DeliveryResult records an attempt: delivered, or failed with the next
// attempt at next (zero: give up, the delivery failed).
func (db *DB) DeliveryResult(ctx context.Context, id string, ok bool, status int, errText string, next time.Time) error {
	var err error
	switch {
	case ok:
		_, err = db.x.ExecContext(ctx, db.rebind("UPDATE webhook_deliveries SET status = 'delivered', response_status = ?, last_error = '', delivered_at = ?, leased_until = 0 WHERE id = ?"),
			status, now(), id)
	case next.IsZero():
		_, err = db.x.ExecContext(ctx, db.rebind("UPDATE webhook_deliveries SET status = 'failed', response_status = ?, last_error = ?, leased_until = 0 WHERE id = ?"),
			status, chat.Cut(errText, 500), id)
	default:
		_, err = db.x.ExecContext(ctx, db.rebind("UPDATE webhook_deliveries SET response_status = ?, last_error = ?, next_attempt_at = ?, leased_until = 0 WHERE id = ?"),
			status, chat.Cut(errText, 500), next.UnixMilli(), id)
	}
	if err != nil {
		return fmt.Errorf("delivery result: %w", err)
	}
	return nil
}

// Deliveries lists a webhook's deliveries, newest first, in pages.
func (db *DB) Deliveries(ctx context.Context, webhookID, cursorStr string, limit int) ([]*Delivery, string, error) {
	q := "SELECT " + deliveryCols + ", '' AS url, '' AS secret FROM webhook_deliveries d WHERE d.webhook_id = ?"
	args := []any{webhookID}
	if cursorStr != "" {
		ms, id, err := parseCursor(cursorStr)
		if err != nil {
			return nil, "", err
		}
		q += " AND (d.created_at < ? OR (d.created_at = ? AND d.id < ?))"
		args = append(args, ms, ms, id)
	}
	q += " ORDER BY d.created_at DESC, d.id DESC LIMIT ?"
	args = append(args, limit+1)
	var rows []deliveryRow
	if err := db.x.SelectContext(ctx, &rows, db.rebind(q), args...); err != nil {
		return nil, "", fmt.Errorf("deliveries: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = cursor(rows[len(rows)-1].CreatedAt, rows[len(rows)-1].ID)
	}
	out := make([]*Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.delivery()
	}
	return out, next, nil
}

// Redeliver puts a delivery of the webhook back in the queue, due now, with
// the same id (receivers de-duplicate by it) and a fresh retry schedule: its
// attempts count from zero and it is retried for the whole window again;
// the last attempt's error, response status and delivery time are cleared
// (the row is pending again, and says so alone). A delivery a node is
// sending right now (leased) is refused with conflict: two nodes never send
// one delivery at once. The row is answered as the update left it (read in
// its transaction, before any node can send it).
func (db *DB) Redeliver(ctx context.Context, webhookID, id string) (*Delivery, error) {
	t := now()
	var r deliveryRow
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, db.rebind(`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, retry_from = ?, attempts = 0, last_error = '',
			response_status = 0, delivered_at = NULL WHERE id = ? AND webhook_id = ? AND leased_until <= ?`), t, t, id, webhookID, t)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			err := tx.GetContext(ctx, &one, db.rebind("SELECT 1 FROM webhook_deliveries WHERE id = ? AND webhook_id = ?"), id, webhookID)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return chat.Errorf(chat.ENotFound, "no such delivery")
			case err != nil:
				return err
			}
			return chat.Errorf(chat.EConflict, "the delivery is being sent right now; redeliver it after this attempt")
		}
		return tx.GetContext(ctx, &r, db.rebind("SELECT "+deliveryCols+", '' AS url, '' AS secret FROM webhook_deliveries d WHERE d.id = ?"), id)
	})
	var ce *chat.Error
	switch {
	case errors.As(err, &ce):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("redeliver: %w", err)
	}
	return r.delivery(), nil
}

// ForgetDeliveries deletes delivered and failed deliveries made before
// cutoff (their bodies hold customers' words: the log is kept only so
// long) and idempotency keys older than keysBefore.
func (db *DB) ForgetDeliveries(ctx context.Context, cutoff, keysBefore time.Time) (int64, error) {
	res, err := db.x.ExecContext(ctx, db.rebind("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?"), cutoff.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("forget deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := db.x.ExecContext(ctx, db.rebind("DELETE FROM idempotency_keys WHERE created_at < ?"), keysBefore.UnixMilli()); err != nil {
		return n, fmt.Errorf("forget idempotency keys: %w", err)
	}
	return n, nil
}
