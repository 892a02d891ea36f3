package live

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limits are this node's per-client-address limits: frames (and visitor
// sign-ups) per second, and open sockets.
type limits struct {
	rate     rate.Limit
	burst    int
	maxConns int

	mu    sync.Mutex
	byIP  map[string]*ipLimit
	conns map[string]int
}

type ipLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimits(cfg Config) *limits {
	return &limits{rate: cfg.IPRate, burst: cfg.IPBurst, maxConns: cfg.ConnsPerIP, byIP: map[string]*ipLimit{}, conns: map[string]int{}}
}

// allow takes one event of ip from its rate.
func (l *limits) allow(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.byIP[ip]
	if e == nil {
		e = &ipLimit{lim: rate.NewLimiter(l.rate, l.burst)}
		l.byIP[ip] = e
	}
	e.seen = time.Now()
	return e.lim.Allow()
}

// hold counts an open socket of ip; false when ip has too many.
func (l *limits) hold(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns[ip] >= l.maxConns {
		return false
	}
	l.conns[ip]++
	return true
}

func (l *limits) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns[ip]--; l.conns[ip] <= 0 {
		delete(l.conns, ip)
	}
}

// prune forgets addresses quiet for ten minutes.
func (l *limits) prune() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ip, e := range l.byIP {
		if time.Since(e.seen) > 10*time.Minute {
			delete(l.byIP, ip)
		}
	}
}
