package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 500 * time.Millisecond}, {99, 990 * time.Millisecond}, {99.9, 999 * time.Millisecond}, {100, time.Second}, {0.01, time.Millisecond}} {
		if got := Percentile(d, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %v", got)
	}
	if got := Percentile([]time.Duration{7}, 99.9); got != 7 {
		t.Errorf("p99.9 of one sample = %v", got)
	}
}

func TestSummarize(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3} // unsorted on purpose
	s := Summarize(d)
	if s.Count != 5 || s.Min != 1 || s.Max != 5 || s.P50 != 3 || s.Mean != 3 || s.P99 != 5 {
		t.Fatalf("summary %+v", s)
	}
	if (Summarize(nil) != Summary{}) {
		t.Fatal("summary of nothing is not zero")
	}
}

func TestLatenciesFromManyGoroutines(t *testing.T) {
	var l Latencies
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			for i := range 1000 {
				l.Add(g*1000+i, time.Duration(i))
			}
			done <- struct{}{}
		}()
	}
	for range 8 {
		<-done
	}
	s := l.Summary()
	if s.Count != 8000 || s.Max != 999 || s.Min != 0 {
		t.Fatalf("summary %+v", s)
	}
}
