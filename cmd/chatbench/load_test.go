package main

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

func TestBenchMsgRoundTrip(t *testing.T) {
	for i := range 2000 {
		m := benchMsg{step: rand.IntN(50), dir: i % 2, idx: rand.IntN(20000), n: rand.Int64N(1 << 30), sent: time.Now().UnixNano() + rand.Int64N(1e12)}
		text := m.text()
		got, ok := parseBenchMsg(text)
		if !ok || got != m {
			t.Fatalf("%q parsed as %+v (ok %v), want %+v", text, got, ok, m)
		}
		// chatd masks Luhn-valid digit runs as card numbers; the text must
		// reach the other side as sent.
		if strings.ContainsAny(text, "0123456789") || chat.MaskCards(text) != text {
			t.Fatalf("text %q has digits the server could mask", text)
		}
	}
	if got, ok := parseBenchMsg(benchMsg{sent: math.MaxInt64}.text()); !ok || got.sent != math.MaxInt64 {
		t.Fatalf("largest timestamp: %+v %v", got, ok)
	}
}

func TestParseBenchMsgRejects(t *testing.T) {
	for _, s := range []string{"", "hello", "bench", "bench a v b c", "bench a x b c d", "bench a v b c D", "bench a v b c d e", "benchmark chat 3"} {
		if _, ok := parseBenchMsg(s); ok {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestSeqTrack(t *testing.T) {
	var tr seqTrack
	tr.base(2)
	for _, s := range []int64{3, 3, 5, 6, 2, 9, 4} {
		tr.note(s)
	}
	last, dups, reordered := tr.get()
	if last != 6 || dups != 2 || reordered != 1 {
		t.Fatalf("last %d dups %d reordered %d", last, dups, reordered)
	}
	if m := tr.missing(10); m != 3 { // 7, 8 and 10
		t.Fatalf("missing %d", m)
	}
}

func TestSustained(t *testing.T) {
	good := func() *LoadResult {
		return &LoadResult{Rate: 1000, SentRate: 990, V2A: Summary{P99: 5 * time.Millisecond}}
	}
	for _, tc := range []struct {
		name   string
		change func(*LoadResult)
		want   string // "" = sustained
	}{
		{"good", func(*LoadResult) {}, ""},
		{"lost", func(r *LoadResult) { r.Lost = 1 }, "1 messages lost"},
		{"duplicates", func(r *LoadResult) { r.Duplicates = 2 }, "2 duplicates"},
		{"send errors", func(r *LoadResult) { r.SendErrors = 3 }, "3 send errors"},
		{"error frames", func(r *LoadResult) { r.Errors = map[string]int{"rate_limited": 1} }, "error frames map[rate_limited:1]"},
		{"slow generator", func(r *LoadResult) { r.SentRate = 900 }, "generator reached only 900 msg/s"},
		{"slow delivery", func(r *LoadResult) { r.V2A.P99 = saturationP99 + time.Millisecond }, "p99 51.0ms > 50ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.change(r)
			ok, why := sustained(r)
			if ok != (tc.want == "") || why != tc.want {
				t.Fatalf("sustained = %v %q, want %q", ok, why, tc.want)
			}
		})
	}
}
