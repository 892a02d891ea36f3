package transcript_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store/storetest"
	"github.com/chatd/chatd/transcript"
)

func TestPrivate(t *testing.T) {
	for _, tt := range []struct {
		ip      string
		private bool
	}{
		{"127.0.0.1", true}, {"::1", true}, {"10.1.2.3", true}, {"172.16.0.1", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"fe80::1", true}, {"fd00:ec2::254", true}, {"0.0.0.0", true}, {"::", true},
		{"100.64.0.1", true}, {"224.0.0.1", true}, {"255.255.255.255", true}, {"::ffff:127.0.0.1", true},
		{"64:ff9b::7f00:1", true}, {"2002:7f00:1::", true},
		{"93.184.216.34", false}, {"2606:2800:220:1:248:1893:25c8:1946", false}, {"1.1.1.1", false},
	} {
		if got := transcript.Private(netip.MustParseAddr(tt.ip)); got != tt.private {
			t.Errorf("Private(%s) = %v", tt.ip, got)
		}
	}
}

// TestClientChecksTheDialledAddress: the name is resolved first and the
// address refused when dialled, so DNS cannot slip a private address in;
// redirects are not followed.
func TestClientChecksTheDialledAddress(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
	}))
	defer srv.Close()
	for _, url := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		_, err := transcript.Client(false, time.Second).Post(url, "application/json", strings.NewReader("{}"))
		if !errors.Is(err, transcript.ErrPrivateTarget) {
			t.Errorf("POST %s: %v, want a refusal", url, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatal("the refused target was reached")
	}
	resp, err := transcript.Client(true, time.Second).Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || hits.Load() != 1 {
		t.Fatalf("allowed: status %d, %d hits (the redirect must not be followed)", resp.StatusCode, hits.Load())
	}
}

// TestDelivererRetriesThenGivesUp: a target that keeps failing is tried
// again with growing waits until the retry window ends, then the delivery
// is marked failed; a huge answer is not read whole.
func TestDelivererRetriesThenGivesUp(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(500)
		w.Write([]byte(strings.Repeat("x", 1<<20)))
	}))
	defer srv.Close()
	hook, err := db.CreateWebhook(ctx, srv.URL, []string{"ticket.created"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateTicket(ctx, chat.NewTicket{Unit: "general", Subject: "s", Text: "t", Email: "a@example.com",
		By: chat.Sender{Kind: chat.FromSystem, ID: "k"}, Author: chat.Sender{Kind: chat.FromVisitor}}); err != nil {
		t.Fatal(err)
	}
	d := transcript.NewDeliverer(transcript.DeliveryConfig{AllowPrivate: true, Timeout: time.Second, RetryFor: 3 * time.Second,
		FirstBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 20 * time.Millisecond}, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	var log []*chat.Delivery
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		log, _, err = db.Deliveries(ctx, hook.ID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) == 1 && log[0].Status == "failed" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(log) != 1 || log[0].Status != "failed" || log[0].ResponseStatus != 500 || log[0].LastError != "HTTP 500" {
		t.Fatalf("log %+v", log)
	}
	if n := hits.Load(); n < 3 || int(n) != log[0].Attempts {
		t.Fatalf("%d attempts reached the target, %d logged; want several, all logged", n, log[0].Attempts)
	}
}

// TestRedeliveryIsFreshAndRetried: a delivery redelivered long after its
// event is sent with a fresh, signed sent_at and X-Chat-Timestamp (its
// created_at stays the event's), and is retried on the normal schedule
// again rather than failing at its first refusal.
func TestRedeliveryIsFreshAndRetried(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	type attempt struct {
		body      []byte
		stamp     int64
		signature string
	}
	var mu sync.Mutex
	var got []attempt
	var refuse atomic.Int32 // answers 503 while > 0, counting down
	refuse.Store(1 << 20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		stamp, _ := strconv.ParseInt(r.Header.Get("X-Chat-Timestamp"), 10, 64)
		mu.Lock()
		got = append(got, attempt{b, stamp, r.Header.Get("X-Chat-Signature")})
		mu.Unlock()
		if refuse.Add(-1) >= 0 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	hook, err := db.CreateWebhook(ctx, srv.URL, []string{"ticket.created"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateTicket(ctx, chat.NewTicket{Unit: "general", Subject: "s", Text: "t", Email: "a@example.com",
		By: chat.Sender{Kind: chat.FromSystem, ID: "k"}, Author: chat.Sender{Kind: chat.FromVisitor}}); err != nil {
		t.Fatal(err)
	}
	const window = 500 * time.Millisecond
	d := transcript.NewDeliverer(transcript.DeliveryConfig{AllowPrivate: true, Timeout: time.Second, RetryFor: window,
		FirstBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Poll: 20 * time.Millisecond}, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	status := func(want string) *chat.Delivery {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			log, _, err := db.Deliveries(ctx, hook.ID, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(log) == 1 && log[0].Status == want {
				return log[0]
			}
		}
		t.Fatalf("the delivery never became %s", want)
		return nil
	}
	failed := status(chat.DeliveryFailed)
	mu.Lock()
	first := len(got)
	mu.Unlock()
	// Well past the event's window, the receiver is back after two more refusals.
	time.Sleep(window + 1100*time.Millisecond)
	refuse.Store(2)
	redelivered := time.Now().Truncate(time.Second)
	if _, err := db.Redeliver(ctx, hook.ID, failed.ID); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	status(chat.DeliveryDelivered)
	mu.Lock()
	defer mu.Unlock()
	if len(got)-first != 3 {
		t.Fatalf("the redelivery took %d attempts, want 3 (two refused, retried on schedule, then delivered)", len(got)-first)
	}
	for i, a := range got {
		var body struct {
			ID        string    `json:"id"`
			CreatedAt time.Time `json:"created_at"`
			SentAt    time.Time `json:"sent_at"`
		}
		if err := json.Unmarshal(a.body, &body); err != nil || body.ID != failed.ID {
			t.Fatalf("attempt %d body %s: %v", i, a.body, err)
		}
		if a.signature != transcript.Sign(hook.Secret, a.body) {
			t.Errorf("attempt %d: signature does not cover the body sent", i)
		}
		if !body.CreatedAt.Equal(failed.CreatedAt) || body.SentAt.Unix() != a.stamp || body.SentAt.Before(body.CreatedAt) {
			t.Errorf("attempt %d: created_at %v (event %v), sent_at %v, X-Chat-Timestamp %d", i, body.CreatedAt, failed.CreatedAt, body.SentAt, a.stamp)
		}
		if i >= first && body.SentAt.Before(redelivered) {
			t.Errorf("redelivered attempt %d sent_at %v is older than the redelivery (%v)", i, body.SentAt, redelivered)
		}
	}
}
