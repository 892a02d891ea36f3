package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Direction of a message, named by the side that sends it.
const (
	dirV2A = sideVisitor // visitor -> agent
	dirA2V = sideAgent   // agent -> visitor
)

// benchMsg is what a benchmark message's text carries, so the receiver
// can measure and account for it without any shared state:
// "bench <step> <v|a> <chat index> <n> <unix ns when sent>", each number
// written in letters (base 26, 'a' = 0). Digits would not do: chatd masks
// Luhn-valid runs of 13-19 digits as card numbers, and a nanosecond
// timestamp is one about one time in ten.
type benchMsg struct {
	step int
	dir  int
	idx  int
	n    int64
	sent int64
}

func (m benchMsg) text() string {
	b := make([]byte, 0, 48)
	b = append(b, "bench "...)
	b = appendLetters(b, int64(m.step))
	if m.dir == dirV2A {
		b = append(b, " v "...)
	} else {
		b = append(b, " a "...)
	}
	b = appendLetters(b, int64(m.idx))
	b = append(b, ' ')
	b = appendLetters(b, m.n)
	b = append(b, ' ')
	b = appendLetters(b, m.sent)
	return string(b)
}

func parseBenchMsg(s string) (benchMsg, bool) {
	rest, ok := strings.CutPrefix(s, "bench ")
	if !ok {
		return benchMsg{}, false
	}
	f := strings.Fields(rest)
	if len(f) != 5 || (f[1] != "v" && f[1] != "a") {
		return benchMsg{}, false
	}
	var m benchMsg
	var nums [4]int64
	for i, s := range []string{f[0], f[2], f[3], f[4]} {
		if nums[i], ok = parseLetters(s); !ok {
			return benchMsg{}, false
		}
	}
	m.step, m.idx, m.n, m.sent = int(nums[0]), int(nums[1]), nums[2], nums[3]
	if f[1] == "a" {
		m.dir = dirA2V
	}
	return m, true
}

// appendLetters writes n >= 0 in base 26 with the digits 'a'..'z'.
func appendLetters(b []byte, n int64) []byte {
	var buf [16]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('a' + n%26)
		n /= 26
		if n == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}

func parseLetters(s string) (int64, bool) {
	if s == "" || len(s) > 14 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 'a' || c > 'z' {
			return 0, false
		}
		n = n*26 + int64(c-'a')
	}
	return n, true
}

// loadState accounts for one run of the conversation load: what each side
// sent and what the other side received, once or more.
type loadState struct {
	step int
	n    int

	next   [2][]atomic.Int64 // per chat: messages numbered so far
	seenMu [2][]sync.Mutex
	seen   [2][][]uint64 // per chat: bitmap of numbers received

	sent      [2]atomic.Int64
	acked     atomic.Int64
	delivered [2]atomic.Int64
	dups      [2]atomic.Int64
	late      atomic.Int64 // frames of an earlier step
	sendErrs  atomic.Int64
	lat       [2]Latencies
	errors    counter
}

func newLoadState(step, chats int) *loadState {
	ls := &loadState{step: step, n: chats}
	for d := range 2 {
		ls.next[d] = make([]atomic.Int64, chats)
		ls.seenMu[d] = make([]sync.Mutex, chats)
		ls.seen[d] = make([][]uint64, chats)
	}
	return ls
}

// onMessage handles a message frame read by a socket of side; a socket
// also gets its own side's messages back from chatd, which are ignored.
func (ls *loadState) onMessage(side int, f *Frame, at time.Time) {
	m, ok := parseBenchMsg(f.Text)
	if !ok || m.dir == side || m.idx >= ls.n {
		return
	}
	if m.step != ls.step {
		ls.late.Add(1)
		return
	}
	mu := &ls.seenMu[m.dir][m.idx]
	mu.Lock()
	bits := ls.seen[m.dir][m.idx]
	w := int(m.n / 64)
	for len(bits) <= w {
		bits = append(bits, 0)
	}
	dup := bits[w]&(1<<(m.n%64)) != 0
	bits[w] |= 1 << (m.n % 64)
	ls.seen[m.dir][m.idx] = bits
	mu.Unlock()
	if dup {
		ls.dups[m.dir].Add(1)
		return
	}
	ls.delivered[m.dir].Add(1)
	ls.lat[m.dir].Add(m.idx, at.Sub(time.Unix(0, m.sent)))
}

func (ls *loadState) totals() (sent, delivered int64) {
	return ls.sent[0].Load() + ls.sent[1].Load(), ls.delivered[0].Load() + ls.delivered[1].Load()
}

// LoadResult is one run of the conversation load against one target.
type LoadResult struct {
	Target         string         `json:"target"`
	Step           int            `json:"step,omitempty"`
	Chats          int            `json:"chats"`
	Rate           float64        `json:"rate_asked"`
	Seconds        float64        `json:"seconds"`
	Sent           int64          `json:"sent"`
	Acked          int64          `json:"acked"` // -1: the relay does not ack
	Delivered      int64          `json:"delivered"`
	Duplicates     int64          `json:"duplicates"`
	Lost           int64          `json:"lost"`
	LostV2A        int64          `json:"lost_visitor_to_agent"`
	LostA2V        int64          `json:"lost_agent_to_visitor"`
	SeqReordered   int64          `json:"seq_reordered"` // message frames that came after a later seq (chatd)
	DeliveredRatio float64        `json:"delivered_ratio"`
	SentRate       float64        `json:"sent_per_second"`
	Throughput     float64        `json:"delivered_per_second"`
	V2A            Summary        `json:"visitor_to_agent"`
	A2V            Summary        `json:"agent_to_visitor"`
	ServerCPU      float64        `json:"server_cpu_seconds"`
	ServerCPUPer1k float64        `json:"server_cpu_ms_per_1k"` // -1 on the relay: it runs inside chatbench
	BenchCPUPer1k  float64        `json:"bench_cpu_ms_per_1k"`  // chatbench itself (clients, and the relay when it runs)
	MachineBusy    float64        `json:"machine_busy"`         // share of all cores busy, every process
	Errors         map[string]int `json:"errors,omitempty"`
	SendErrors     int64          `json:"send_errors"`
	Late           int64          `json:"late"`
	RateLimited    float64        `json:"server_rate_limited"`
	SlowConsumers  float64        `json:"server_slow_consumers"`
	Drain          float64        `json:"drain_seconds"`
	CommitBatch    float64        `json:"server_commit_batch"` // messages per group commit, mean
	CommitMillis   float64        `json:"server_commit_ms"`    // duration of one group commit, mean
}

type sendJob struct {
	conn   *Conn
	chatID string
	idx    int
	dir    int
}

// runLoad sends rate messages per second in total, half each way, spread
// over the chats, for dur; then waits up to drain for the stragglers.
func runLoad(ctx context.Context, s *chatSet, step int, rate float64, dur, drain time.Duration) (*LoadResult, error) {
	b := s.b
	ls := newLoadState(step, len(s.pairs))
	s.load.Store(ls)
	var before Sample
	if !s.relay() {
		var err error
		if before, err = scrape(ctx, b.hc, b.urls()); err != nil {
			return nil, err
		}
	}
	use := readUsage()
	jobs := make(chan sendJob, 4096)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				m := benchMsg{step: step, dir: j.dir, idx: j.idx, n: ls.next[j.dir][j.idx].Add(1) - 1, sent: time.Now().UnixNano()}
				if err := j.conn.Send(ctx, messageFrame(j.chatID, m.text())); err != nil {
					ls.sendErrs.Add(1)
					continue
				}
				ls.sent[j.dir].Add(1)
			}
		}()
	}
	label := fmt.Sprintf("%s %.0f msg/s", s.target, rate)
	t0 := time.Now()
	stop := b.progress(label, func() string {
		sent, del := ls.totals()
		return fmt.Sprintf("%4.1fs/%v sent %d delivered %d errors %d", time.Since(t0).Seconds(), dur, sent, del, ls.sendErrs.Load())
	})
	var k int64
	n := int64(len(s.pairs))
pace:
	for {
		el := time.Since(t0)
		if el >= dur {
			break
		}
		due := int64(el.Seconds() * rate)
		for ; k < due; k++ {
			p := s.pairs[(k/2)%n]
			j := sendJob{chatID: p.chatID, idx: p.idx, dir: int(k % 2)}
			if j.dir == dirV2A {
				j.conn = p.visitor
			} else {
				j.conn = p.agent.conn
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				break pace
			}
		}
		time.Sleep(time.Millisecond)
	}
	close(jobs)
	wg.Wait()
	sendTime := time.Since(t0)
	d0 := time.Now()
	for time.Since(d0) < drain && ctx.Err() == nil {
		sent, del := ls.totals()
		if del >= sent && (s.relay() || ls.acked.Load() >= sent) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	r := &LoadResult{Target: s.target, Step: step, Chats: len(s.pairs), Rate: rate, Seconds: sendTime.Seconds(), Drain: time.Since(d0).Seconds()}
	selfCPU, busy := use.since()
	r.Sent, r.Delivered = ls.totals()
	r.Acked = ls.acked.Load()
	if s.relay() {
		r.Acked = -1
	}
	r.Duplicates = ls.dups[0].Load() + ls.dups[1].Load()
	r.Lost = r.Sent - r.Delivered
	r.LostV2A = ls.sent[dirV2A].Load() - ls.delivered[dirV2A].Load()
	r.LostA2V = ls.sent[dirA2V].Load() - ls.delivered[dirA2V].Load()
	for _, p := range s.pairs {
		for side := range 2 {
			_, _, reordered := p.track[side].get()
			r.SeqReordered += reordered
		}
	}
	if r.Sent > 0 {
		r.DeliveredRatio = float64(r.Delivered) / float64(r.Sent)
		r.BenchCPUPer1k = selfCPU.Seconds() * 1e6 / float64(r.Sent)
	}
	r.SentRate = float64(r.Sent) / sendTime.Seconds()
	r.Throughput = float64(r.Delivered) / sendTime.Seconds()
	r.V2A, r.A2V = ls.lat[dirV2A].Summary(), ls.lat[dirA2V].Summary()
	r.MachineBusy = busy
	r.Errors = ls.errors.snapshot()
	r.SendErrors = ls.sendErrs.Load()
	r.Late = ls.late.Load()
	r.ServerCPUPer1k = -1
	if !s.relay() {
		after, err := scrape(ctx, b.hc, b.urls())
		if err != nil {
			return r, err
		}
		d := after.Sub(before)
		r.ServerCPU = d[mCPU]
		if r.Sent > 0 {
			r.ServerCPUPer1k = d[mCPU] * 1e6 / float64(r.Sent)
		}
		r.RateLimited, r.SlowConsumers = d[mLimited], d[mSlow]
		if n := d["chatd_commit_messages_count"]; n > 0 {
			r.CommitBatch = d["chatd_commit_messages_sum"] / n
			r.CommitMillis = d["chatd_commit_seconds_sum"] / n * 1000
		}
	}
	s.load.Store(nil)
	return r, nil
}
