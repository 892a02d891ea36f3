package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything a run measured; it prints as tables and saves as JSON.
type Report struct {
	Started    time.Time         `json:"started"`
	Seconds    float64           `json:"seconds"`
	Machine    Machine           `json:"machine"`
	Config     *Config           `json:"config"`
	Idle       *IdleResult       `json:"idle,omitempty"`
	Storm      *StormResult      `json:"storm,omitempty"`
	Conv       []*LoadResult     `json:"conv,omitempty"`
	Saturation []*SatResult      `json:"saturation,omitempty"`
	SatRatio   float64           `json:"saturation_ratio,omitempty"` // chatd limit / relay limit
	Reconnect  *ReconnectResult  `json:"reconnect,omitempty"`
	Checks     []Check           `json:"checks"`
	Errors     map[string]string `json:"errors,omitempty"` // scenario -> why it failed
}

// Machine describes where the run happened.
type Machine struct {
	CPUs     int    `json:"cpus"`
	MemoryGB string `json:"memory"`
	Go       string `json:"go"`
	OS       string `json:"os"`
	// BusyBefore is the share of all cores busy in the second before the
	// run: anything else working on the machine skews every figure.
	BusyBefore float64 `json:"busy_before"`
}

// Check is one goal or invariant and whether the run met it. Invariants
// (correctness) make chatbench exit non-zero; goals (speed) are reported.
type Check struct {
	Name      string `json:"name"`
	Goal      string `json:"goal"`
	Measured  string `json:"measured"`
	OK        bool   `json:"ok"`
	Invariant bool   `json:"invariant"`
}

func newReport(cfg *Config) *Report {
	return &Report{Started: time.Now(), Config: cfg, Errors: map[string]string{},
		Machine: Machine{CPUs: runtime.NumCPU(), MemoryGB: memTotal(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}}
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
				return fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	return ""
}

func (r *Report) fail(scenario string, err error) { r.Errors[scenario] = err.Error() }

func (r *Report) check(name, goal, measured string, ok, invariant bool) {
	r.Checks = append(r.Checks, Check{Name: name, Goal: goal, Measured: measured, OK: ok, Invariant: invariant})
}

// finish derives the ratio and the checks from the results.
func (r *Report) finish(took time.Duration) {
	r.Seconds = took.Seconds()
	cfg := r.Config
	if x := r.Idle; x != nil && x.ServerConns > 0 {
		r.check("idle RSS per socket", "< 30 KiB", fmt.Sprintf("%.1f KiB", x.RSSPerSocket/1024), x.RSSPerSocket < 30*1024, false)
	}
	if x := r.Storm; x != nil {
		r.check("storm: every chat assigned once, no agent over max_chats", "all", fmt.Sprintf("%d/%d once, %d again, %d over capacity",
			x.AgentOnce, x.Chats, x.AgentMore, x.OverCapacity), x.InvariantsHold, true)
		if x.Assigned > 0 {
			r.check("storm: start to chat.assigned p99", "< 20 ms", fmtMS(x.Assign.P99), x.Assign.P99 < 20*time.Millisecond && x.Assigned == x.Chats, false)
		}
	}
	for _, c := range r.Conv {
		if c.Target != targetChatd {
			continue
		}
		r.check("conv: nothing lost or duplicated", "0", fmt.Sprintf("%d lost, %d duplicated of %d", c.Lost, c.Duplicates, c.Sent),
			c.Lost == 0 && c.Duplicates == 0 && c.Sent > 0, true)
		r.check(fmt.Sprintf("conv: p99 visitor->agent at %.0f msg/s", c.Rate), "< "+fmtMS(cfg.P99Goal), fmtMS(c.V2A.P99), c.V2A.P99 < cfg.P99Goal, false)
	}
	var chatd, relay float64
	for _, s := range r.Saturation {
		switch s.Target {
		case targetChatd:
			chatd = s.Limit
		case targetRelay:
			relay = s.Limit
		}
	}
	if chatd > 0 && relay > 0 {
		r.SatRatio = chatd / relay
		r.check("saturation: chatd / bare relay", ">= 0.50", fmt.Sprintf("%.0f / %.0f = %.2f", chatd, relay, r.SatRatio), r.SatRatio >= 0.5, false)
	}
	if x := r.Reconnect; x != nil {
		r.check("reconnect: every seq once, in order, after resume", "0", fmt.Sprintf("%d lost, %d duplicated, %d reordered, %d/%d chats complete",
			x.Lost, x.Duplicates, x.Reordered, x.Complete, x.Chats), x.InvariantsHold, true)
	}
}

// Err is non-nil when a scenario failed or an invariant was violated.
func (r *Report) Err() error {
	var bad []string
	for name := range r.Errors {
		bad = append(bad, "scenario "+name+" failed")
	}
	for _, c := range r.Checks {
		if c.Invariant && !c.OK {
			bad = append(bad, "invariant violated: "+c.Name)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(bad, "; "))
}

// WriteJSON saves the report.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func fmtMS(d time.Duration) string { return strconv.FormatFloat(ms(d), 'f', 2, 64) + " ms" }

func kib(b float64) string { return strconv.FormatFloat(b/1024, 'f', 1, 64) + " KiB" }

// Table prints the results, one table per scenario, then the checks.
func (r *Report) Table(out io.Writer) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer w.Flush()
	m := r.Machine
	fmt.Fprintf(w, "chatbench: %d CPUs, %s, %s, %.0fs; machine %.0f%% busy before the run\n", m.CPUs, m.MemoryGB, m.Go, r.Seconds, m.BusyBefore*100)
	if x := r.Idle; x != nil {
		fmt.Fprintf(w, "\nIDLE SOCKETS\nsockets\tvisitors\tagents\tnodes\tconnect\tserver conns\tRSS/socket\theap/socket\tgoroutines/socket\tgoroutines before/after/closed\n")
		fmt.Fprintf(w, "%d\t%d\t%d\t%d\t%.1fs\t%.0f\t%s\t%s\t%.2f\t%.0f/%.0f/%.0f\n", x.Sockets, x.Visitors, x.Agents, x.Nodes, x.ConnectSeconds,
			x.ServerConns, kib(x.RSSPerSocket), kib(x.HeapPerSocket), x.GoroutinesPer, x.GoroutinesBefore, x.GoroutinesAfter, x.GoroutinesClosed)
	}
	if x := r.Storm; x != nil {
		fmt.Fprintf(w, "\nASSIGNMENT STORM (chat.start -> visitor's chat.assigned)\nchats\tnodes\tagents x max\tassigned\tp50\tp90\tp99\tmax\tagent got it once\tagain\tvisitor got it twice\tover capacity\tmax per agent\tinvariants\n")
		fmt.Fprintf(w, "%d\t%d\t%d x %d\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", x.Chats, x.Nodes, x.Agents, x.MaxChats, x.Assigned,
			fmtMS(x.Assign.P50), fmtMS(x.Assign.P90), fmtMS(x.Assign.P99), fmtMS(x.Assign.Max), x.AgentOnce, x.AgentMore, x.VisitorRepeated,
			x.OverCapacity, x.MaxPerAgent, okWord(x.InvariantsHold))
	}
	if len(r.Conv) > 0 {
		fmt.Fprintf(w, "\nCONVERSATION LOAD (latency: send -> the other side's socket)\n")
		loadHeader(w, "target")
		for _, c := range r.Conv {
			loadRow(w, c.Target, c)
		}
	}
	for _, s := range r.Saturation {
		fmt.Fprintf(w, "\nSATURATION %s: highest rate with p99 <= %v and nothing lost: %.0f msg/s (stopped: %s)\n", s.Target, saturationP99, s.Limit, s.Stop)
		loadHeader(w, "step")
		for _, c := range s.Steps {
			ok, _ := sustained(c)
			loadRow(w, fmt.Sprintf("%d %s", c.Step, okWord(ok)), c)
		}
	}
	if r.SatRatio > 0 {
		fmt.Fprintf(w, "\nsaturation ratio chatd / bare relay: %.2f\n", r.SatRatio)
	}
	if x := r.Reconnect; x != nil {
		fmt.Fprintf(w, "\nRECONNECT STORM\nchats\tsockets\tcross-node\toutage\tsent after drop\tsent while peer away\treconnect p50\tp99\trecovered\tlost\tduplicated\treordered\tcomplete\tfailed sockets\tinvariants\n")
		fmt.Fprintf(w, "%d\t%d\t%v\t%.1fs\t%d\t%d\t%s\t%s\t%.2fs\t%d\t%d\t%d\t%d/%d\t%d\t%s\n", x.Chats, x.Sockets, x.CrossNode, x.Outage, x.Sent,
			x.SentPeerAway, fmtMS(x.Reconnect.P50), fmtMS(x.Reconnect.P99), x.Recovered, x.Lost, x.Duplicates, x.Reordered, x.Complete, x.Chats,
			x.FailedSockets, okWord(x.InvariantsHold))
	}
	if len(r.Checks) > 0 {
		fmt.Fprintf(w, "\nCHECKS\ncheck\tgoal\tmeasured\tresult\n")
		for _, c := range r.Checks {
			res := okWord(c.OK)
			if !c.OK && !c.Invariant {
				res = "MISSED"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.Name, c.Goal, c.Measured, res)
		}
	}
	for name, e := range r.Errors {
		fmt.Fprintf(w, "\nscenario %s FAILED: %s\n", name, e)
	}
}

func loadHeader(w io.Writer, first string) {
	fmt.Fprintf(w, "%s\tchats\tasked/s\tsent/s\tsent\tacked\tdelivered\tlost\tdup\tv->a p50\tp99\tp99.9\tmax\ta->v p99\tdelivered/s\tserver CPU ms/1k\tbench CPU ms/1k\tmachine busy\tmsgs/commit\terrors\n", first)
}

func loadRow(w io.Writer, first string, c *LoadResult) {
	acked, cpu := strconv.FormatInt(c.Acked, 10), strconv.FormatFloat(c.ServerCPUPer1k, 'f', 0, 64)
	if c.Acked < 0 {
		acked = "-"
	}
	if c.ServerCPUPer1k < 0 {
		cpu = "-"
	}
	commit := "-"
	if c.CommitBatch > 0 {
		commit = fmt.Sprintf("%.1f in %.1f ms", c.CommitBatch, c.CommitMillis)
	}
	errs := "-"
	if len(c.Errors) > 0 || c.SendErrors > 0 {
		errs = fmt.Sprintf("%v send:%d", c.Errors, c.SendErrors)
	}
	fmt.Fprintf(w, "%s\t%d\t%.0f\t%.0f\t%d\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s\t%.0f\t%.0f%%\t%s\t%s\n", first, c.Chats, c.Rate, c.SentRate,
		c.Sent, acked, c.Delivered, c.Lost, c.Duplicates, fmtMS(c.V2A.P50), fmtMS(c.V2A.P99), fmtMS(c.V2A.P999), fmtMS(c.V2A.Max),
		fmtMS(c.A2V.P99), c.Throughput, cpu, c.BenchCPUPer1k, c.MachineBusy*100, commit, errs)
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}
