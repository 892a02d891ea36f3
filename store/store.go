package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultSQLitePath is where the embedded database lives when no URL is set.
const DefaultSQLitePath = "data/chatd.db"

// Engine names the SQL server behind a DB.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// DB is the durable store. Queries are written with `?` placeholders and
// rebound for the engine, so both engines run the same SQL.
type DB struct {
	x      *sqlx.DB
	engine Engine
}

// Engine reports which SQL server the store uses.
func (db *DB) Engine() Engine { return db.engine }

// Close closes the connection pool.
func (db *DB) Close() error { return db.x.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.x.GetContext(ctx, &one, "SELECT 1"); err != nil {
		return fmt.Errorf("ping %s: %w", db.engine, err)
	}
	return nil
}

// Open connects to rawURL: empty for the embedded SQLite file under ./data,
// "sqlite:PATH" or "file:PATH" for another SQLite file, and "postgres://" or
// "postgresql://" for PostgreSQL. It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	engine, driver, dsn, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if engine == SQLite {
		if err := ensureDir(dsn); err != nil {
			return nil, err
		}
	}
	x, err := sqlx.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", engine, err)
	}
	if engine == SQLite {
		// WAL lets readers run beside the one writer; writers queue on the
		// busy timeout instead of failing.
		x.SetMaxOpenConns(8)
		x.SetMaxIdleConns(8)
	} else {
		// A few connections per core serve PostgreSQL best; once open they
		// are kept (see Warm).
		x.SetMaxOpenConns(pgConns)
		x.SetMaxIdleConns(pgConns)
		x.SetConnMaxIdleTime(30 * time.Minute)
	}
	db := &DB{x: x, engine: engine}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.Ping(pctx); err != nil {
		x.Close()
		return nil, err
	}
	return db, nil
}

const pgConns = 16

// Warm opens the whole PostgreSQL pool now and runs a query on each
// connection, so a burst of work does not wait for new backends to start and
// fill their caches. SQLite needs nothing.
func (db *DB) Warm(ctx context.Context) {
	if db.engine != Postgres {
		return
	}
	conns := make([]*sqlx.Conn, 0, pgConns)
	for range pgConns {
		c, err := db.x.Connx(ctx)
		if err != nil {
			break
		}
		var one int
		_ = c.GetContext(ctx, &one, "SELECT 1 FROM chats WHERE id = '' UNION ALL SELECT 1 FROM messages WHERE chat_id = '' LIMIT 1")
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
}

func parseURL(raw string) (engine Engine, driver, dsn string, err error) {
	switch {
	case raw == "":
		return sqliteDSN(DefaultSQLitePath)
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return "", "", "", fmt.Errorf("database url: %w", err)
		}
		// Batched statements vary in length: send each in one round trip
		// instead of preparing and caching every shape.
		if q := u.Query(); q.Get("default_query_exec_mode") == "" {
			q.Set("default_query_exec_mode", "exec")
			u.RawQuery = q.Encode()
		}
		return Postgres, "pgx", u.String(), nil
	case strings.HasPrefix(raw, "sqlite://"):
		return sqliteDSN(strings.TrimPrefix(raw, "sqlite://"))
	case strings.HasPrefix(raw, "sqlite:"):
		return sqliteDSN(strings.TrimPrefix(raw, "sqlite:"))
	case strings.HasPrefix(raw, "file:"):
		return sqliteDSN(strings.TrimPrefix(raw, "file:"))
	}
	return "", "", "", fmt.Errorf("database url %q: want postgres://, sqlite:PATH or empty for the embedded default", raw)
}

func sqliteDSN(path string) (Engine, string, string, error) {
	if path == "" {
		return "", "", "", errors.New("database url: sqlite path is empty")
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	// Write transactions take the lock at BEGIN, so two writers never
	// deadlock upgrading from a read lock.
	q.Set("_txlock", "immediate")
	return SQLite, "sqlite", "file:" + path + "?" + q.Encode(), nil
}

func ensureDir(dsn string) error {
	path := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == ":memory:" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("create database directory: %w", err)
	}
	return nil
}

// Migrate applies the embedded migrations not yet applied, each in its own
// transaction, and returns how many ran. Concurrent callers on PostgreSQL are
// serialised by an advisory lock, on SQLite by the write lock.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	conn, err := db.x.Connx(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if db.engine == Postgres {
		const lockID = 7243190211
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
			return 0, fmt.Errorf("migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockID)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	files, err := migrationFiles()
	if err != nil {
		return 0, err
	}
	applied := 0
	for _, m := range files {
		done, err := m.apply(ctx, conn, db)
		if err != nil {
			return applied, err
		}
		if done {
			applied++
		}
	}
	// Audit rows written before the log was a hash chain join it.
	if err := db.sealAudit(ctx); err != nil {
		return applied, fmt.Errorf("migrate: %w", err)
	}
	return applied, nil
}

type migration struct {
	version int64
	name    string
}

func migrationFiles() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must start with a number and '_'", e.Name())
		}
		out = append(out, migration{version: v, name: e.Name()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

func (m migration) apply(ctx context.Context, conn *sqlx.Conn, db *DB) (bool, error) {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.GetContext(ctx, &n, db.x.Rebind("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if n > 0 {
		return false, nil
	}
	body, err := migrations.ReadFile("migrations/" + m.name)
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, db.x.Rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
		m.version, m.name, time.Now().UnixMilli()); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	return true, tx.Commit()
}

// Version is the highest applied migration.
func (db *DB) Version(ctx context.Context) (int64, error) {
	var v sql.NullInt64
	if err := db.x.GetContext(ctx, &v, "SELECT MAX(version) FROM schema_migrations"); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v.Int64, nil
}

// rebind turns `?` placeholders into the engine's.
func (db *DB) rebind(q string) string { return db.x.Rebind(q) }

// now is the store's clock in Unix milliseconds.
func now() int64 { return time.Now().UnixMilli() }
