// Package storetest gives tests a fresh database and Redis: the real
// PostgreSQL and Redis when TEST_DATABASE_URL and TEST_REDIS_URL are set,
// the embedded SQLite and in-process Redis otherwise.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/store"
)

// DatabaseURL returns a URL for an empty database of this test's own: a
// fresh PostgreSQL schema under TEST_DATABASE_URL (dropped at cleanup), or a
// SQLite file in a temporary directory.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		return "sqlite:" + filepath.Join(t.TempDir(), "chatd.db")
	}
	schema := "t_" + Random(8)
	admin, err := sqlx.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// DB opens and migrates a fresh database for this test.
func DB(t testing.TB) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// RedisURL returns a Redis URL and a key prefix of this test's own. With
// TEST_REDIS_URL it is that server and a random prefix whose keys are
// deleted at cleanup; otherwise a fresh in-process server.
func RedisURL(t testing.TB) (rawURL, prefix string) {
	t.Helper()
	prefix = "{t" + Random(6) + "}:"
	if base := os.Getenv("TEST_REDIS_URL"); base != "" {
		t.Cleanup(func() { deletePrefix(t, base, prefix) })
		return base, prefix
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		t.Fatalf("start miniredis: %v", err)
	}
	t.Cleanup(m.Close)
	return "redis://" + m.Addr(), prefix
}

// Redis opens a client for RedisURL.
func Redis(t testing.TB) (*store.Redis, string) {
	t.Helper()
	u, prefix := RedisURL(t)
	r, err := store.OpenRedis(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, prefix
}

func deletePrefix(t testing.TB, rawURL, prefix string) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return
	}
	opt.DisableIdentity = true
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}

// Random returns n random bytes as lower-case hex.
func Random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
