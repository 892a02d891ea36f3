package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/cmd/internal/server"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

// BenchmarkListTicketsHTTP times the whole route an integrator or console
// calls, GET /api/v1/tickets?unit=general (authentication, the access
// policy, the query, the audit row every staff look writes, JSON), for the
// first page of one unit's open tickets among 100,000 tickets of four
// units in every status (a quarter open), over a loopback connection.
func BenchmarkListTicketsHTTP(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	redisURL, prefix := storetest.RedisURL(b)
	vars := map[string]string{"CHAT_DATABASE_URL": storetest.DatabaseURL(b), "CHAT_REDIS_URL": redisURL, "CHAT_REDIS_PREFIX": prefix,
		"CHAT_ADMIN_EMAIL": "admin@example.com", "CHAT_ADMIN_PASSWORD": "admin-password"}
	cfg, err := server.LoadConfig(testEnv(vars), newFlags("serve", "", io.Discard), nil)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	b.Cleanup(func() { cancel(); <-done; srv.Close() })
	url := "http://" + ln.Addr().String()
	seedTickets(b, srv, 100_000)

	resp, err := http.Post(url+"/api/v1/auth/login", "application/json", strings.NewReader(`{"email":"admin@example.com","password":"admin-password"}`))
	if err != nil {
		b.Fatal(err)
	}
	var login struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	get := func() int {
		req, _ := http.NewRequest("GET", url+"/api/v1/tickets?unit=general", nil)
		req.Header.Set("Authorization", "Bearer "+login.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct{ Items []json.RawMessage }
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
			b.Fatalf("%d %v", resp.StatusCode, err)
		}
		return len(page.Items)
	}
	if n := get(); n != 50 {
		b.Fatalf("first page holds %d tickets, want 50", n)
	}
	b.ResetTimer()
	for b.Loop() {
		get()
	}
}

// seedTickets writes n tickets straight to the node's database, many rows a
// statement: units in turn, statuses so that a quarter are open.
func seedTickets(b *testing.B, srv *server.Server, n int) {
	b.Helper()
	u := srv.Cfg.DatabaseURL
	driver, dsn := "pgx", u
	if p, ok := strings.CutPrefix(u, "sqlite:"); ok {
		driver, dsn = "sqlite", "file:"+p+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	units := chat.DefaultUnits
	statuses := []string{chat.TicketOpen, chat.TicketClosed, chat.TicketPending, chat.TicketClosed, chat.TicketSolved, chat.TicketClosed, chat.TicketOpen, chat.TicketClosed}
	const batch = 500
	base := time.Now().UnixMilli() - int64(n)*1000
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		var args []any
		for i := start; i < end; i++ {
			t := base + int64(i)*1000
			args = append(args, uuid.NewString(), units[i%len(units)], statuses[(i/len(units))%len(statuses)], fmt.Sprintf("request %d", i),
				fmt.Sprintf("email:c%d@example.com", i), fmt.Sprintf("c%d@example.com", i), t, t, t)
		}
		q := "INSERT INTO tickets (id, unit, status, subject, requester, email, created_at, updated_at, last_activity_at) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", end-start), ", ")
		if srv.DB.Engine() == store.Postgres {
			q = sqlx.Rebind(sqlx.DOLLAR, q)
		}
		if _, err := db.Exec(q, args...); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec("ANALYZE"); err != nil {
		b.Fatal(err)
	}
}
