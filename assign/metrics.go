package assign

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrapeTimeout bounds the Redis read behind one scrape.
const scrapeTimeout = 2 * time.Second

// Collectors returns the package's metrics for the caller to register:
// chatd_queue_length{unit} and chatd_agents_online{unit}, read from Redis
// on each scrape, and the chatd_assignment_seconds histogram of queue waits.
func (r *Redis) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		unitStats{
			r:      r,
			queue:  prometheus.NewDesc("chatd_queue_length", "Chats waiting in the unit's queue.", []string{"unit"}, nil),
			online: prometheus.NewDesc("chatd_agents_online", "Online agents serving the unit.", []string{"unit"}, nil),
		},
		r.waited,
	}
}

// unitStats collects the per-unit gauges straight from Redis, so every
// node reports the cluster-wide numbers.
type unitStats struct {
	r             *Redis
	queue, online *prometheus.Desc
}

func (s unitStats) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.queue
	ch <- s.online
}

func (s unitStats) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	rows, err := s.r.unitStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(s.queue, err)
		return
	}
	for _, u := range rows {
		ch <- prometheus.MustNewConstMetric(s.queue, prometheus.GaugeValue, float64(u.queued), u.unit)
		ch <- prometheus.MustNewConstMetric(s.online, prometheus.GaugeValue, float64(u.online), u.unit)
	}
}

type unitStat struct {
	unit           string
	queued, online int
}

// unitStats reads every known unit's queue length and online agents.
func (r *Redis) unitStats(ctx context.Context) ([]unitStat, error) {
	v, err := r.run(ctx, statsScript, []string{r.keys.units()})
	if err != nil {
		return nil, fmt.Errorf("assign: unit stats: %w", err)
	}
	if len(v)%3 != 0 {
		return nil, fmt.Errorf("assign: unit stats: reply has %d fields, want groups of 3", len(v))
	}
	var out []unitStat
	for ; len(v) > 0; v = v[3:] {
		u := unitStat{unit: v[0]}
		if u.queued, err = atoi(v[1]); err != nil {
			return nil, fmt.Errorf("assign: unit stats: %w", err)
		}
		if u.online, err = atoi(v[2]); err != nil {
			return nil, fmt.Errorf("assign: unit stats: %w", err)
		}
		out = append(out, u)
	}
	return out, nil
}
