package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
)

// openStore opens and migrates the database named by the configuration.
func openStore(ctx context.Context, cfg *Config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "chatd migrate [flags]", stderr)
	cfg, err := loadConfig(getenv, fs, args)
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
       chatd agents disable --email E`

func cmdAgents(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs := newFlags("agents", agentsUsage, stderr)
		fs.Usage()
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errors.New("agents: want create, list or disable")
	}
	sub, args := args[0], args[1:]
	fs := newFlags("agents "+sub, agentsUsage, stderr)
	email := fs.String("email", "", "staff email")
	password := fs.String("password", "", "password, at least 8 characters")
	name := fs.String("name", "", "display name")
	units := fs.String("units", "general", "comma list of units served")
	maxChats := fs.Int("max-chats", 5, "most chats at once")
	role := fs.String("role", chat.RoleAgent, "agent, supervisor or admin")
	cfg, err := loadConfig(getenv, fs, args)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "create":
		a := &chat.Agent{Email: *email, Name: *name, Role: *role, Units: splitList(*units), MaxChats: *maxChats}
		if err := chat.ValidateAgent(a, cfg.Units); err != nil {
			return err
		}
		if a.PasswordHash, err = chat.HashPassword(*password); err != nil {
			return err
		}
		if err := db.CreateAgent(ctx, a); err != nil {
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
		a, err := db.AgentByEmail(ctx, *email)
		if err != nil {
			return fmt.Errorf("agents disable: %q: %w", *email, err)
		}
		a.Disabled = true
		if err := db.UpdateAgent(ctx, a); err != nil {
			return err
		}
		if err := db.DeleteAgentSessions(ctx, a.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "disabled %s\n", a.Email)
	default:
		return fmt.Errorf("agents: unknown subcommand %q; want create, list or disable", sub)
	}
	return nil
}

func cmdAPIKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "chatd apikeys create --name N"
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
	cfg, err := loadConfig(getenv, fs, args[1:])
	if err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("apikeys create: --name is required")
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	id, key, err := db.CreateAPIKey(ctx, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "id:  %s\nkey: %s\n(the key is shown only now; it is stored hashed)\n", id, key)
	return nil
}

func cmdPurge(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("purge", "chatd purge [--older-than 72h]", stderr)
	older := fs.Duration("older-than", 0, "delete what has been inactive this long (default: CHAT_RETENTION_DAYS)")
	cfg, err := loadConfig(getenv, fs, args)
	if err != nil {
		return err
	}
	age := *older
	if age <= 0 {
		age = time.Duration(cfg.RetentionDays) * 24 * time.Hour
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Purge(ctx, time.Now().Add(-age))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "purged %d chat(s) and %d ticket(s) inactive since before %s\n", res.Chats, res.Tickets, time.Now().Add(-age).UTC().Format(time.RFC3339))
	return nil
}
