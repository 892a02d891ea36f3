package assign

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCollectors(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := newTestRedis(t, clk, Config{})
	must := must(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collectors()...)

	must(r.SetPresence(ctx, Agent{ID: "a", Units: []string{"general"}, MaxChats: 1}, StatusOnline))
	must(r.Enqueue(ctx, "c1", "general", 0))
	must(r.Enqueue(ctx, "c2", "general", 0))
	must(r.Enqueue(ctx, "c3", "general", 0))
	must(r.Enqueue(ctx, "f1", "financial", 0))
	clk.Add(10 * time.Second)
	wantPairs(t, "release", must(r.Release(ctx, "c1")), "c2>a")

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetValue() + "}"
			}
			switch {
			case m.GetGauge() != nil:
				got[name] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				got[name+"count"] = float64(m.GetHistogram().GetSampleCount())
				got[name+"sum"] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	for name, want := range map[string]float64{
		"chatd_queue_length{general}":    1,
		"chatd_queue_length{financial}":  1,
		"chatd_agents_online{general}":   1,
		"chatd_agents_online{financial}": 0,
		"chatd_assignment_secondscount":  2,
		"chatd_assignment_secondssum":    10,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
}
