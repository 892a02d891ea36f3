package store

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Redis is an open Redis client and, for the embedded default, the
// in-process server behind it.
type Redis struct {
	redis.UniversalClient
	embedded *miniredis.Miniredis
	stop     chan struct{} // ends the embedded server's clock
}

// Embedded reports whether the server runs inside this process.
func (r *Redis) Embedded() bool { return r.embedded != nil }

// Close closes the client and stops an embedded server.
func (r *Redis) Close() error {
	err := r.UniversalClient.Close()
	if r.embedded != nil {
		close(r.stop)
		r.embedded.Close()
	}
	return err
}

// OpenRedis connects to rawURL:
//   - "" starts an embedded in-process Redis on a loopback port, so the same
//     client, Lua scripts and pub/sub run as against a real server;
//   - redis:// or rediss:// for one server (db number in the path);
//   - redis://host1:port?addr=host2:port&addr=... for a Redis Cluster;
//   - redis+sentinel://[:password@]host:port[,host:port]/master[/db] for Sentinel.
func OpenRedis(ctx context.Context, rawURL string) (*Redis, error) {
	r := &Redis{}
	switch {
	case rawURL == "":
		// It listens on loopback only, with a password of its own, so no
		// other local process can talk to it.
		m := miniredis.NewMiniRedis()
		password := randomHex(16)
		m.RequireAuth(password)
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		r.embedded, r.stop = m, make(chan struct{})
		r.UniversalClient = redis.NewClient(&redis.Options{Addr: m.Addr(), Password: password, DisableIdentity: true, PoolSize: 64})
		go runClock(m, r.stop, time.Second)
	case strings.HasPrefix(rawURL, "redis+sentinel://"):
		opt, err := parseSentinel(rawURL)
		if err != nil {
			return nil, err
		}
		r.UniversalClient = redis.NewFailoverClient(opt)
	case strings.HasPrefix(rawURL, "redis://"), strings.HasPrefix(rawURL, "rediss://"):
		if strings.Contains(rawURL, "addr=") {
			opt, err := redis.ParseClusterURL(rawURL)
			if err != nil {
				return nil, fmt.Errorf("redis url: %w", err)
			}
			opt.DisableIdentity = true
			r.UniversalClient = redis.NewClusterClient(opt)
			break
		}
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		opt.DisableIdentity = true
		if opt.PoolSize < 64 {
			opt.PoolSize = 64
		}
		r.UniversalClient = redis.NewClient(opt)
	default:
		return nil, fmt.Errorf("redis url %q: want redis://, rediss://, redis+sentinel:// or empty for the embedded default", rawURL)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.Ping(pctx).Err(); err != nil {
		r.Close()
		return nil, fmt.Errorf("redis ping: %w", err)
	}
	return r, nil
}

func parseSentinel(raw string) (*redis.FailoverOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if parts[0] == "" {
		return nil, fmt.Errorf("redis url %q: sentinel master name missing from the path", raw)
	}
	opt := &redis.FailoverOptions{MasterName: parts[0], SentinelAddrs: strings.Split(u.Host, ","), DisableIdentity: true}
	if p, ok := u.User.Password(); ok {
		opt.Password = p
	}
	if len(parts) > 1 {
		if _, err := fmt.Sscan(parts[1], &opt.DB); err != nil {
			return nil, fmt.Errorf("redis url %q: bad db number: %w", raw, err)
		}
	}
	return opt, nil
}

// runClock makes the embedded server's key expiry follow the wall clock,
// as a real Redis does (it only moves when told), until stop is closed.
func runClock(m *miniredis.Miniredis, stop <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			m.FastForward(now.Sub(last))
			last = now
		}
	}
}
