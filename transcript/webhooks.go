package transcript

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/chat/rest"
)

// Events a webhook may subscribe to.
var Events = []string{"chat.closed", "chat.escalated", "ticket.created", "ticket.updated", "ticket.replied", "ticket.merged"}

// HookStore keeps webhooks and their delivery outbox.
type HookStore interface {
	CreateWebhook(ctx context.Context, url string, events []string) (*chat.Webhook, error)
	Webhooks(ctx context.Context) ([]*chat.Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	Deliveries(ctx context.Context, webhookID, cursor string, limit int) ([]*chat.Delivery, string, error)
	Redeliver(ctx context.Context, webhookID, id string) (*chat.Delivery, error)
	EmitClosedChats(ctx context.Context, limit int) (int, error)
	ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]*chat.Delivery, error)
	DeliveryResult(ctx context.Context, id string, ok bool, status int, errText string, next time.Time) error
	ForgetDeliveries(ctx context.Context, cutoff, keysBefore time.Time) (int64, error)
}

// LogFor is how long the delivery log keeps a finished delivery.
const LogFor = 7 * 24 * time.Hour

// DeliveryConfig tunes a Deliverer; its zero value means the defaults.
type DeliveryConfig struct {
	AllowPrivate bool          // deliver to loopback and private addresses (CHAT_WEBHOOK_ALLOW_PRIVATE)
	Timeout      time.Duration // one attempt, default 10s
	RetryFor     time.Duration // retry this long after the event, then fail; default 24h
	FirstBackoff time.Duration // the wait after the first failure, doubled each time (with jitter), default 10s
	MaxBackoff   time.Duration // default 1h
	Poll         time.Duration // how often the outbox is read when nothing wakes the deliverer, default 1s
	Workers      int           // deliveries in flight at once, default 4
	MaxResponse  int64         // bytes of a response read, default 64 KiB
}

// Deliverer sends the outbox's deliveries: signed POSTs, retried with
// exponential backoff and jitter until they succeed or RetryFor passes.
// Every node runs one; each delivery is claimed by one node at a time.
type Deliverer struct {
	cfg    DeliveryConfig
	store  HookStore
	client *http.Client
	log    *slog.Logger
	wake   chan struct{}
}

// NewDeliverer returns a Deliverer; Run starts it.
func NewDeliverer(cfg DeliveryConfig, store HookStore, log *slog.Logger) *Deliverer {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, 10*time.Second)
	def(&cfg.RetryFor, 24*time.Hour)
	def(&cfg.FirstBackoff, 10*time.Second)
	def(&cfg.MaxBackoff, time.Hour)
	def(&cfg.Poll, time.Second)
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.MaxResponse <= 0 {
		cfg.MaxResponse = 64 << 10
	}
	return &Deliverer{cfg: cfg, store: store, client: Client(cfg.AllowPrivate, cfg.Timeout), log: log, wake: make(chan struct{}, 1)}
}

// Wake makes the deliverer read the outbox now.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends; once an hour it forgets finished
// deliveries past LogFor and idempotency keys past a day.
func (d *Deliverer) Run(ctx context.Context) {
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	var forgot time.Time
	for {
		d.drain(ctx)
		if time.Since(forgot) > time.Hour {
			forgot = time.Now()
			if _, err := d.store.ForgetDeliveries(ctx, forgot.Add(-LogFor), forgot.Add(-25*time.Hour)); err != nil && ctx.Err() == nil {
				d.log.Warn("forget webhook deliveries", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// drain turns closed chats into events, then sends every delivery due.
func (d *Deliverer) drain(ctx context.Context) {
	for {
		n, err := d.store.EmitClosedChats(ctx, 100)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("webhook events of closed chats", "err", err)
			}
			break
		}
		if n < 100 {
			break
		}
	}
	for ctx.Err() == nil {
		// The lease outlasts an attempt: a node that dies holding a delivery
		// delays it by the lease, and nobody sends it twice meanwhile.
		ds, err := d.store.ClaimDeliveries(ctx, 4*d.cfg.Workers, 2*d.cfg.Timeout+10*time.Second)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("claim webhook deliveries", "err", err)
			}
			return
		}
		if len(ds) == 0 {
			return
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, d.cfg.Workers)
		for _, del := range ds {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				d.deliver(ctx, del)
			}()
		}
		wg.Wait()
	}
}

// Sign is the X-Chat-Signature of body: "sha256=" and the hex HMAC-SHA256
// of the body keyed with the webhook's secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (d *Deliverer) deliver(ctx context.Context, del *chat.Delivery) {
	status, err := d.post(ctx, del)
	if status == 0 && err != nil && ctx.Err() != nil {
		return // cut short by shutting down, unanswered: the lease runs out and another node tries again
	}
	var next time.Time
	errText := ""
	if err != nil {
		errText = err.Error()
		next = time.Now().Add(d.backoff(del.Attempts))
		if next.After(del.RetryFrom.Add(d.cfg.RetryFor)) {
			next = time.Time{} // out of time: failed
		}
	}
	if rerr := d.store.DeliveryResult(context.WithoutCancel(ctx), del.ID, err == nil, status, errText, next); rerr != nil {
		d.log.Warn("webhook delivery result", "delivery", del.ID, "err", rerr)
	}
}

// backoff is the wait after the attempts-th failure: doubling from
// FirstBackoff up to MaxBackoff, each spread by ±20% so retries of many
// deliveries do not arrive together.
func (d *Deliverer) backoff(attempts int) time.Duration {
	b := d.cfg.FirstBackoff
	for i := 1; i < attempts && b < d.cfg.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.cfg.MaxBackoff)
	return time.Duration(float64(b) * (0.8 + 0.4*rand.Float64()))
}

// SentBody is a stored delivery body as one attempt sends it: with
// sent_at, the time of this attempt (the body's created_at stays the
// event's own time). It is signed with the rest, so a receiver can refuse
// a replayed or long-delayed request by sent_at, retries and
// redeliveries included.
func SentBody(stored string, at time.Time) []byte {
	rest, ok := strings.CutPrefix(stored, "{")
	if !ok {
		return []byte(stored)
	}
	sep := ","
	if strings.HasPrefix(strings.TrimSpace(rest), "}") {
		sep = ""
	}
	return []byte(`{"sent_at":"` + at.UTC().Format(time.RFC3339Nano) + `"` + sep + rest)
}

func (d *Deliverer) post(ctx context.Context, del *chat.Delivery) (int, error) {
	at := time.Now()
	body := SentBody(del.Body, at)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "chatd-webhooks/1")
	req.Header.Set("X-Chat-Event", del.Event)
	req.Header.Set("X-Chat-Delivery", del.ID)
	req.Header.Set("X-Chat-Timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("X-Chat-Signature", Sign(del.Secret, body))
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, d.cfg.MaxResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// ErrPrivateTarget refuses a delivery to an address inside the network.
var ErrPrivateTarget = errors.New("webhook target is a loopback, private, link-local or metadata address")

// Client is the HTTP client of webhook deliveries: the address is checked
// when the connection is dialled, after name resolution, so a name that
// resolves (or is re-bound) to a private address is refused; no proxy from
// the environment, no redirects followed, a timeout on each attempt.
func Client(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || Private(ip) {
				return fmt.Errorf("%w: %s", ErrPrivateTarget, host)
			}
			return nil
		}
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy: nil, DialContext: dialer.DialContext, TLSHandshakeTimeout: 5 * time.Second,
			ResponseHeaderTimeout: timeout, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64: an IPv4 address in disguise
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"), // 6to4: likewise
}

// Private reports whether ip is an address a webhook may not reach:
// loopback, private, link-local (the cloud metadata service at
// 169.254.169.254 among them), unspecified, multicast or reserved.
func Private(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || !ip.IsValid() {
		return true
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func checkHookURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(raw) > 2000 {
		return "", chat.Errorf(chat.EInvalid, "url must be an http:// or https:// URL without credentials")
	}
	u.Fragment = ""
	return u.String(), nil
}

// createHook serves POST /api/v1/webhooks {url, events} (admin): the secret
// is in this answer only.
func (api *API) createHook(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ManageHooks)
	if err != nil {
		return err
	}
	var body hookBody
	if err := rest.Bind(c, &body); err != nil {
		return err
	}
	u, events, err := checkHook(body)
	if err != nil {
		return err
	}
	w, err := api.store.CreateWebhook(ctx, u, events)
	if err != nil {
		return err
	}
	if err := api.audit.Record(ctx, p, "webhook.created", "webhook", w.ID, u); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, w)
}

func (api *API) listHooks(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := access.Require(ctx, access.ManageHooks); err != nil {
		return err
	}
	hooks, err := api.store.Webhooks(ctx)
	if err != nil {
		return err
	}
	if hooks == nil {
		hooks = []*chat.Webhook{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": hooks})
}

func (api *API) deleteHook(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ManageHooks)
	if err != nil {
		return err
	}
	if err := api.store.DeleteWebhook(ctx, c.Param("id")); err != nil {
		return err
	}
	if err := api.audit.Record(ctx, p, "webhook.deleted", "webhook", c.Param("id"), ""); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// deliveries serves the delivery log of one webhook, newest first.
func (api *API) deliveries(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := access.Require(ctx, access.ManageHooks); err != nil {
		return err
	}
	limit, err := rest.Limit(c, 50, 200)
	if err != nil {
		return err
	}
	items, next, err := api.store.Deliveries(ctx, c.Param("id"), c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*chat.Delivery{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

// redeliver puts a delivery back in the queue, due now, with its own id.
func (api *API) redeliver(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ManageHooks)
	if err != nil {
		return err
	}
	d, err := api.store.Redeliver(ctx, c.Param("id"), c.Param("delivery"))
	if err != nil {
		return err
	}
	if err := api.audit.Record(ctx, p, "webhook.redelivered", "delivery", d.ID, ""); err != nil {
		return err
	}
	api.changed()
	return c.JSON(http.StatusAccepted, d)
}
