package main

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
process_resident_memory_bytes 1.2345e+07
chatd_frames_total{type="message"} 10
chatd_frames_total{type="chat.start"} 5
chatd_commit_seconds_bucket{le="0.001"} 3
chatd_commit_seconds_sum 0.5
chatd_commit_seconds_count 3
weird{a="x}y",b="z"} 2
`
	s, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := Sample{mGoroutines: 42, mRSS: 12345000, "chatd_frames_total": 15, "chatd_commit_seconds_sum": 0.5, "chatd_commit_seconds_count": 3, "weird": 2}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("%s = %v, want %v", k, s[k], v)
		}
	}
	if _, ok := s["chatd_commit_seconds_bucket"]; ok {
		t.Error("buckets should be skipped")
	}
	if d := s.Sub(Sample{mGoroutines: 40}); d[mGoroutines] != 2 {
		t.Errorf("delta %v", d[mGoroutines])
	}
	if _, err := ParseMetrics(strings.NewReader("x{a=\"b\" 1\n")); err == nil {
		t.Error("unterminated labels accepted")
	}
}
