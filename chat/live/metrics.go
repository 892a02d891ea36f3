package live

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	frames      *prometheus.CounterVec
	started     *prometheus.CounterVec
	ended       *prometheus.CounterVec
	stored      prometheus.Counter
	rateLimited prometheus.Counter
	slowClosed  prometheus.Counter
	assigned    prometheus.Histogram
	noResponse  prometheus.Counter
	visitorLeft *prometheus.CounterVec
	commit      commitMetrics
}

type commitMetrics struct {
	seconds prometheus.Histogram
	size    prometheus.Histogram
}

type commitTimer struct {
	m     *commitMetrics
	start time.Time
}

func (m *commitMetrics) Start() commitTimer { return commitTimer{m, time.Now()} }

func (t commitTimer) Stop(n int) {
	t.m.seconds.Observe(time.Since(t.start).Seconds())
	t.m.size.Observe(float64(n))
}

func newMetrics() *metrics {
	return &metrics{
		frames:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_frames_total", Help: "Client frames received, by type."}, []string{"type"}),
		started:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_chats_started_total", Help: "Chats started, by unit."}, []string{"unit"}),
		ended:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_chats_ended_total", Help: "Chats ended, by final status."}, []string{"status"}),
		stored:      prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_messages_stored_total", Help: "Messages and notes stored."}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_rate_limited_total", Help: "Frames refused by rate limits."}),
		slowClosed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_slow_consumers_total", Help: "Connections cut off for not reading."}),
		assigned: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chatd_chat_wait_seconds", Help: "Time from chat start to its assignment, recorded by the node that assigned it.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 20)}),
		noResponse: prometheus.NewCounter(prometheus.CounterOpts{Name: "chatd_no_response_total",
			Help: "Assigned chats taken from an agent who did not answer within CHAT_FIRST_RESPONSE_TIMEOUT."}),
		visitorLeft: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatd_visitor_left_total",
			Help: "Chats closed because their visitor left (reason visitor_left), by the state they were in: queued or active."}, []string{"state"}),
		commit: commitMetrics{
			seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chatd_commit_seconds", Help: "Duration of one group commit.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
			size:    prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chatd_commit_messages", Help: "Messages per group commit.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		},
	}
}

func (m *metrics) collectors(s *Service) []prometheus.Collector {
	conns := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chatd_connections", Help: "Open WebSocket connections on this node."},
		func() float64 { return float64(len(s.hub.all())) })
	return []prometheus.Collector{m.frames, m.started, m.ended, m.stored, m.rateLimited, m.slowClosed, m.assigned, m.noResponse, m.visitorLeft, m.commit.seconds, m.commit.size, conns}
}
