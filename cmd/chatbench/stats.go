package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Latencies collects durations from many goroutines. It keeps every
// sample (a run holds at most a few million), so percentiles are exact.
// Samples are spread over shards to keep the readers of many sockets from
// queueing on one mutex.
type Latencies struct {
	shards [16]latShard
}

type latShard struct {
	mu sync.Mutex
	d  []time.Duration
	_  [40]byte // keep shards on separate cache lines
}

// Add records one sample; key spreads the load (a chat index, say).
func (l *Latencies) Add(key int, d time.Duration) {
	s := &l.shards[uint(key)%uint(len(l.shards))]
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

// Summary sorts a copy of the samples and summarises them.
func (l *Latencies) Summary() Summary {
	var all []time.Duration
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		all = append(all, s.d...)
		s.mu.Unlock()
	}
	return Summarize(all)
}

// Summary is the distribution of a set of latencies.
type Summary struct {
	Count int           `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Summarize computes the distribution of d; it sorts d in place.
func Summarize(d []time.Duration) Summary {
	if len(d) == 0 {
		return Summary{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Summary{
		Count: len(d), Min: d[0], Max: d[len(d)-1], Mean: sum / time.Duration(len(d)),
		P50: Percentile(d, 50), P90: Percentile(d, 90), P99: Percentile(d, 99), P999: Percentile(d, 99.9),
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted: the smallest sample at or above which p percent of the samples
// lie. It returns 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9)) // 99.9% of 1000 is 999, not 999.0000001
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// ms renders a duration in milliseconds for tables.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
