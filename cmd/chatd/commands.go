package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/chat/accounts"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/cmd/internal/server"
	"github.com/chatd/chatd/store"
)

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "chatd serve [flags]", stderr)
	cfg, err := server.LoadConfig(getenv, fs, args)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	s, err := server.New(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("CHAT_ADDR: %w", err)
	}
	if cfg.PprofAddr != "" {
		go servePprof(ctx, cfg.PprofAddr, log)
	}
	base := "http://" + displayAddr(ln.Addr().String())
	fmt.Fprintf(stdout, "chatd listening on %s (database: %s, redis: %s)\n  widget demo: %s/\n  console:     %s/console\n",
		ln.Addr(), s.DB.Engine(), redisKind(s.Redis), base, base)
	s.DB.Warm(ctx)
	log.Info("serving", "addr", ln.Addr().String(), "database", string(s.DB.Engine()), "redis", redisKind(s.Redis))
	return s.Serve(ctx, ln)
}

func displayAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "::" || host == "0.0.0.0" || host == "" {
		return "localhost:" + port
	}
	return net.JoinHostPort(host, port)
}

func redisKind(r *store.Redis) string {
	if r.Embedded() {
		return "embedded"
	}
	return "external"
}

// servePprof serves Go's profiler on its own listener, never on the public
// address, until ctx ends.
func servePprof(ctx context.Context, addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	log.Info("profiler listening", "addr", addr)
	if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("profiler", "err", err)
	}
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "chatd migrate [flags]", stderr)
	cfg, err := server.LoadConfig(getenv, fs, args)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	v, err := db.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s); %s schema at version %d\n", n, db.Engine(), v)
	return nil
}

const agentsUsage = `chatd agents create --email E --password P --name N --units a,b --max-chats N --role R
       chatd agents list
       chatd agents disable --email E
       chatd agents passwd --email E --password P   (ends the account's sessions and closes its sockets)`

func cmdAgents(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs := newFlags("agents", agentsUsage, stderr)
		fs.Usage()
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errors.New("agents: want create, list, disable or passwd")
	}
	sub, args := args[0], args[1:]
	fs := newFlags("agents "+sub, agentsUsage, stderr)
	email := fs.String("email", "", "staff email")
	password := fs.String("password", "", "password, at least 8 characters")
	name := fs.String("name", "", "display name")
	units := fs.String("units", "general", "comma list of units served")
	maxChats := fs.Int("max-chats", 5, "most chats at once")
	role := fs.String("role", chat.RoleAgent, "agent, supervisor or admin")
	cfg, err := server.LoadConfig(getenv, fs, args)
	if err != nil {
		return err
	}
	db, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx = access.AsSystem(ctx, "cli")
	switch sub {
	case "create":
		a := &chat.Agent{Email: *email, Name: *name, Role: *role, Units: server.SplitList(*units), MaxChats: *maxChats}
		if err := chat.ValidateAgent(a, cfg.Units); err != nil {
			return err
		}
		if a.PasswordHash, err = access.HashPassword(*password); err != nil {
			return err
		}
		if err := db.CreateAgent(ctx, a); err != nil {
			return err
		}
		if err := accounts.AgentCreated(ctx, db, a); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s %s (%s) id=%s units=%s max_chats=%d\n", a.Role, a.Email, a.Name, a.ID, strings.Join(a.Units, ","), a.MaxChats)
	case "list":
		agents, err := db.Agents(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tUNITS\tMAX\tDISABLED")
		for _, a := range agents {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%v\n", a.ID, a.Email, a.Name, a.Role, strings.Join(a.Units, ","), a.MaxChats, a.Disabled)
		}
		return tw.Flush()
	case "disable":
		return changeAgent(ctx, cfg, db, "disable", *email, stdout, func(a *chat.Agent) error {
			a.Disabled = true
			return nil
		})
	case "passwd":
		if *password == "" {
			return errors.New("agents passwd: --password is required")
		}
		return changeAgent(ctx, cfg, db, "passwd", *email, stdout, func(a *chat.Agent) (err error) {
			a.PasswordHash, err = access.HashPassword(*password)
			return err
		})
	default:
		return fmt.Errorf("agents: unknown subcommand %q; want create, list, disable or passwd", sub)
	}
	return nil
}

// changeAgent changes an account (disable it, or set a new password) as
// the REST path does: its sessions end and the change is audited. Every
// node sees the ended sessions on its next heartbeat and closes the
// account's sockets; when the cluster's Redis is configured, they are told
// at once.
func changeAgent(ctx context.Context, cfg *server.Config, db *store.DB, sub, email string, stdout io.Writer, change func(*chat.Agent) error) error {
	a, err := db.AgentByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("agents %s: %q: %w", sub, email, err)
	}
	before := *a
	if err := change(a); err != nil {
		return fmt.Errorf("agents %s: %w", sub, err)
	}
	if err := accounts.ChangeAgent(ctx, db, nil, &before, a); err != nil {
		return err
	}
	done := "disabled"
	if sub == "passwd" {
		done = "new password for"
	}
	if cfg.RedisURL != "" {
		rdb, err := store.OpenRedis(ctx, cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("agents %s: %s %s, but the nodes could not be told at once: %w", sub, done, a.Email, err)
		}
		defer rdb.Close()
		if err := live.KickAgent(ctx, rdb, cfg.RedisPrefix, a.ID); err != nil {
			return fmt.Errorf("agents %s: %s %s, but the nodes could not be told at once: %w", sub, done, a.Email, err)
		}
	}
	fmt.Fprintf(stdout, "%s %s; its sessions are ended and its sockets closed\n", done, a.Email)
	return nil
}

func cmdAPIKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "chatd apikeys create --name N [--units a,b]"
	if len(args) == 0 || args[0] != "create" {
		fs := newFlags("apikeys", usage, stderr)
		fs.Usage()
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errors.New("apikeys: want create")
	}
	fs := newFlags("apikeys create", usage, stderr)
	name := fs.String("name", "", "what the key is for")
	unitList := fs.String("units", "", "comma list of the units the key is limited to (default: every unit)")
	cfg, err := server.LoadConfig(getenv, fs, args[1:])
	if err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("apikeys create: --name is required")
	}
	units := server.SplitList(*unitList)
	for _, u := range units {
		if !slices.Contains(cfg.Units, u) {
			return fmt.Errorf("apikeys create: unknown unit %q (units: %s)", u, strings.Join(cfg.Units, ","))
		}
	}
	db, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx = access.AsSystem(ctx, "cli")
	k, key, err := db.CreateUnitAPIKey(ctx, *name, units)
	if err != nil {
		return err
	}
	if err := accounts.KeyCreated(ctx, db, k.ID, k.Name); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "id:  %s\nkey: %s\n(the key is shown only now; it is stored hashed)\n", k.ID, key)
	return nil
}

func cmdPurge(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("purge", "chatd purge [--dry-run] [--older-than 72h]", stderr)
	older := fs.Duration("older-than", 0, "delete what has been inactive this long (default: CHAT_RETENTION_DAYS)")
	dry := fs.Bool("dry-run", false, "say what would be deleted, delete nothing")
	cfg, err := server.LoadConfig(getenv, fs, args)
	if err != nil {
		return err
	}
	db, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	ret := &store.Retention{Days: cfg.RetentionDays, AuditDays: cfg.AuditRetentionDays, TokenTTL: cfg.VisitorTokenTTL}
	at := time.Now()
	plan := ret.Plan(at)
	if *older > 0 {
		plan.Cutoff = at.Add(-*older)
	}
	plan.DryRun, plan.By = *dry, "cli"
	res, err := db.Purge(ctx, plan)
	if err != nil {
		return err
	}
	verb := "purged"
	if *dry {
		verb = "would purge"
	}
	fmt.Fprintf(stdout, "%s %s\n  records inactive since before %s, audit rows written before %s\n", verb, res,
		plan.Cutoff.UTC().Format(time.RFC3339), plan.AuditCutoff.UTC().Format(time.RFC3339))
	return nil
}

const auditUsage = "chatd audit verify"

// cmdAudit serves `chatd audit verify`: it walks the audit log's hash chain
// and fails, naming the row, at the first one altered or missing.
func cmdAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fs := newFlags("audit", auditUsage, stderr)
		fs.Usage()
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errors.New("audit: want verify")
	}
	fs := newFlags("audit verify", auditUsage, stderr)
	cfg, err := server.LoadConfig(getenv, fs, args[1:])
	if err != nil {
		return err
	}
	db, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if rep.Problem != nil {
		return fmt.Errorf("audit verify: %w", rep.Problem)
	}
	if rep.Rows == 0 {
		fmt.Fprintln(stdout, "audit log verified: no rows")
		return nil
	}
	fmt.Fprintf(stdout, "audit log verified: %d row(s), %d to %d; head %s\n", rep.Rows, rep.First, rep.Last, rep.Head)
	return nil
}

const visitorsUsage = `chatd visitors export --email E | --visitor-id V   (JSON on stdout)
       chatd visitors erase --email E | --visitor-id V`

// cmdVisitors serves `chatd visitors export|erase`: a customer's data
// taken out or erased from the command line, audited as the command
// line's ("cli"). An erasure revokes the customer's tokens and, with the
// cluster's Redis configured, closes their sockets at once; a customer
// with an open chat is refused (the chat must close first, which the
// admin API does: DELETE /api/v1/visitors).
func cmdVisitors(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "erase") {
		fs := newFlags("visitors", visitorsUsage, stderr)
		fs.Usage()
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errors.New("visitors: want export or erase")
	}
	sub := args[0]
	fs := newFlags("visitors "+sub, visitorsUsage, stderr)
	email := fs.String("email", "", "every visitor record with this email, and the tickets requested under it")
	visitorID := fs.String("visitor-id", "", "one visitor record (instead of --email)")
	cfg, err := server.LoadConfig(getenv, fs, args[1:])
	if err != nil {
		return err
	}
	if (*email == "") == (*visitorID == "") {
		return fmt.Errorf("visitors %s: give --email or --visitor-id (exactly one)", sub)
	}
	db, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx = access.AsSystem(ctx, "cli")
	ids := []string{*visitorID}
	if *email != "" {
		if ids, err = db.VisitorsByEmail(ctx, *email); err != nil {
			return err
		}
	} else if _, err := db.Visitor(ctx, *visitorID); err != nil {
		return fmt.Errorf("visitors %s: %w", sub, err)
	}
	au := access.NewAuditor(db)
	detail := "cli by visitor_id"
	if *email != "" {
		detail = "cli by email"
	}
	if sub == "export" {
		out := map[string]any{"exported_at": time.Now().UTC(), "email": *email}
		var visitors []*chat.VisitorExport
		for _, id := range ids {
			x, err := db.ExportVisitor(ctx, id)
			if err != nil {
				return err
			}
			visitors = append(visitors, x)
			if err := au.Record(ctx, chat.Principal{}, access.AuditVisitorExported, access.ObjectVisitor, id, detail); err != nil {
				return err
			}
		}
		tickets := []chat.ExportTicket{}
		if *email != "" {
			if tickets, err = db.ExportTicketsByEmail(ctx, *email, ids); err != nil {
				return err
			}
		}
		if len(visitors) == 0 && len(tickets) == 0 {
			return fmt.Errorf("visitors export: nothing is held about this customer")
		}
		if visitors == nil {
			visitors = []*chat.VisitorExport{}
		}
		out["visitors"], out["tickets"] = visitors, tickets
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	var rdb *store.Redis
	if cfg.RedisURL != "" {
		if rdb, err = store.OpenRedis(ctx, cfg.RedisURL); err != nil {
			return fmt.Errorf("visitors erase: %w", err)
		}
		defer rdb.Close()
	}
	var revoked int64
	for _, id := range ids {
		if _, err := db.OpenChat(ctx, id); err == nil {
			return fmt.Errorf("visitors erase: visitor %s has an open chat; erase through DELETE /api/v1/visitors (an admin), which closes it first", id)
		}
		tokens, err := db.RevokeVisitorTokens(ctx, id)
		if err != nil {
			return err
		}
		revoked += int64(len(tokens))
		if rdb != nil {
			if err := live.KickVisitor(ctx, rdb, cfg.RedisPrefix, id); err != nil {
				return fmt.Errorf("visitors erase: the sockets could not be closed at once: %w", err)
			}
		}
	}
	res, err := db.EraseVisitors(ctx, chat.Erasure{VisitorIDs: ids, Email: *email, Revoked: revoked,
		Audit: chat.AuditEntry{ActorKind: chat.KindSystem, ActorID: "cli", Action: access.AuditVisitorErased, Detail: detail}})
	if err != nil {
		return err
	}
	if res.Visitors == 0 && res.Tickets == 0 {
		return fmt.Errorf("visitors erase: nothing is held about this customer")
	}
	fmt.Fprintf(stdout, "erased %d visitor record(s), %d chat(s) (%d message(s)), %d ticket(s) (%d repl(ies)), %d token(s), %d webhook deliver(ies), %d stored answer(s)\n",
		res.Visitors, res.Chats, res.Messages, res.Tickets, res.Replies, res.Tokens, res.Deliveries, res.Answers)
	return nil
}
