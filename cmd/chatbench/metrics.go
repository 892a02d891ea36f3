package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server metrics read from chatd's /metrics.
const (
	mRSS        = "process_resident_memory_bytes"
	mCPU        = "process_cpu_seconds_total"
	mGoroutines = "go_goroutines"
	mHeap       = "go_memstats_heap_inuse_bytes"
	mConns      = "chatd_connections"
	mStored     = "chatd_messages_stored_total"
	mLimited    = "chatd_rate_limited_total"
	mSlow       = "chatd_slow_consumers_total"
)

// Sample is one scrape of one or more nodes' metrics: each name's value
// summed over its label sets and over the nodes.
type Sample map[string]float64

// Sub returns s - before for every name of s.
func (s Sample) Sub(before Sample) Sample {
	out := Sample{}
	for k, v := range s {
		out[k] = v - before[k]
	}
	return out
}

// ParseMetrics reads the Prometheus text format, summing each metric's
// samples over their labels. Histograms' _bucket series are skipped.
func ParseMetrics(r io.Reader) (Sample, error) {
	out := Sample{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if strings.HasSuffix(name, "_bucket") {
			continue
		}
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return nil, fmt.Errorf("metrics: bad line %q", line)
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("metrics: no value in %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: bad value in %q", line)
		}
		out[name] += v
	}
	return out, sc.Err()
}

// scrape reads and sums the metrics of every node in urls.
func scrape(ctx context.Context, hc *http.Client, urls []string) (Sample, error) {
	total := Sample{}
	for _, u := range urls {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/metrics", nil)
		if err != nil {
			cancel()
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("metrics of %s: %w", u, err)
		}
		s, err := ParseMetrics(resp.Body)
		resp.Body.Close()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("metrics of %s: %w", u, err)
		}
		for k, v := range s {
			total[k] += v
		}
	}
	return total, nil
}

// usage is the CPU time this process and the whole machine spent.
type usage struct {
	self    time.Duration // user+system of chatbench (clients, and the relay when it runs)
	busy    float64       // machine: non-idle jiffies
	total   float64       // machine: all jiffies
	elapsed time.Time
}

func readUsage() usage {
	u := usage{elapsed: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i, s := range f[1:] {
			v, _ := strconv.ParseFloat(s, 64)
			u.total += v
			if i != 3 && i != 4 { // idle, iowait
				u.busy += v
			}
		}
	}
	return u
}

// since reports this process's CPU seconds and the machine's busy share
// (0..1 of all cores) since u.
func (u usage) since() (self time.Duration, machineBusy float64) {
	now := readUsage()
	if d := now.total - u.total; d > 0 {
		machineBusy = (now.busy - u.busy) / d
	}
	return now.self - u.self, machineBusy
}
