package main

import (
	"context"
	"io"
	"testing"
	"time"
)

// recorder is a Handler that passes frames to a channel.
func recorder() (Handler, chan *Frame) {
	ch := make(chan *Frame, 16)
	return func(_ *Conn, f *Frame, _ time.Time) { ch <- f }, ch
}

func next(t *testing.T, ch chan *Frame) *Frame {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(3 * time.Second):
		t.Fatal("no frame within 3s")
		return nil
	}
}

func TestRelayForwards(t *testing.T) {
	r, err := StartRelay()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	ha, agent := recorder()
	a, _, err := Dial(ctx, wsURL(r.URL, "/agent?id=a0"), ha, false)
	if err != nil {
		t.Fatal(err)
	}
	h0, v0 := recorder()
	c0, _, err := Dial(ctx, wsURL(r.URL, "/visitor?chat=c0&agent=a0"), h0, false)
	if err != nil {
		t.Fatal(err)
	}
	h1, v1 := recorder()
	c1, _, err := Dial(ctx, wsURL(r.URL, "/visitor?chat=c1&agent=a0"), h1, false)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.all) == 3 })

	if err := c0.Send(ctx, messageFrame("c0", "hello from c0")); err != nil {
		t.Fatal(err)
	}
	if f := next(t, agent); f.Type != "message" || f.ChatID != "c0" || f.Text != "hello from c0" || f.ClientID == "" {
		t.Fatalf("agent got %+v", f)
	}
	if err := a.Send(ctx, messageFrame("c1", "to c1")); err != nil {
		t.Fatal(err)
	}
	if f := next(t, v1); f.ChatID != "c1" || f.Text != "to c1" {
		t.Fatalf("c1 got %+v", f)
	}
	if err := a.Send(ctx, messageFrame("c9", "nobody")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return r.dropped.Load() == 1 })
	select {
	case f := <-v0:
		t.Fatalf("c0 got someone else's frame %+v", f)
	default:
	}
	if r.forwarded.Load() != 2 {
		t.Fatalf("forwarded %d", r.forwarded.Load())
	}
	c1.CloseNow()
	c0.CloseNow()
	a.CloseNow()
}

func TestChatIDOf(t *testing.T) {
	for in, want := range map[string]string{
		`{"type":"message","client_id":"x","chat_id":"c12","text":"t"}`: "c12",
		`{"type":"message"}`:   "",
		`{"chat_id":"unterm`:   "",
		`{"chat_id":"","x":1}`: "",
	} {
		if got := chatIDOf([]byte(in)); got != want {
			t.Errorf("chatIDOf(%s) = %q, want %q", in, got, want)
		}
	}
}

// TestLoadThroughRelay runs the conversation load's own code path against
// the bare relay: every message must arrive once, with its latency counted.
func TestLoadThroughRelay(t *testing.T) {
	cfg, err := parseArgs([]string{"-url", "", "-scenarios", "conv", "-max-chats", "4"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{cfg: cfg, hc: newHTTPClient(), log: io.Discard, start: time.Now(), report: newReport(cfg)}
	if b.relay, err = StartRelay(); err != nil {
		t.Fatal(err)
	}
	defer b.relay.Close()
	ctx := context.Background()
	s, err := setupChats(ctx, b, targetRelay, 20, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.teardown(ctx)
	if len(s.agents) != 5 {
		t.Fatalf("%d agent sockets for 20 chats of 4 each", len(s.agents))
	}
	r, err := runLoad(ctx, s, 0, 2000, 300*time.Millisecond, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent < 100 || r.Delivered != r.Sent || r.Lost != 0 || r.Duplicates != 0 || r.SendErrors != 0 || r.Acked != -1 {
		t.Fatalf("result %+v", r)
	}
	if r.V2A.Count+r.A2V.Count != int(r.Sent) || r.V2A.P99 <= 0 {
		t.Fatalf("latencies v->a %+v a->v %+v", r.V2A, r.A2V)
	}
	// Timing is the benchmark's business; a test on a shared machine only
	// checks that every message arrived exactly once.
	if ok, why := complete(r); !ok {
		t.Fatalf("incomplete: %s", why)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 3s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
