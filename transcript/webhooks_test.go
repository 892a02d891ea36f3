package transcript_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
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
