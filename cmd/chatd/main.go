// Command chatd is the live-chat server: `chatd serve` (the default) runs it;
// the other subcommands manage its database.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/chatd/chatd/cmd/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "chatd:", err)
		os.Exit(1)
	}
}

const mainUsage = `chatd: live-chat server for customer support.

Usage:
  chatd [serve] [flags]          run the server (default)
  chatd migrate                  apply database migrations and exit
  chatd agents create|list|disable|passwd  manage staff accounts
  chatd apikeys create --name N [--units a,b]  make an integrator API key (shown once), optionally limited to units
  chatd visitors export|erase --email E  a customer's data as JSON, or erased
  chatd purge [--dry-run] [--older-than D]  delete records past the retention time
  chatd audit verify             check the audit log's hash chain

Run 'chatd COMMAND --help' for a command's flags and the environment.
`

// run is main without the process: it takes the arguments, environment and
// output streams, so tests can drive every subcommand.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return cmdServe(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, args, getenv, stdout, stderr)
	case "agents":
		return cmdAgents(ctx, args, getenv, stdout, stderr)
	case "apikeys":
		return cmdAPIKeys(ctx, args, getenv, stdout, stderr)
	case "visitors":
		return cmdVisitors(ctx, args, getenv, stdout, stderr)
	case "purge":
		return cmdPurge(ctx, args, getenv, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, mainUsage)
		return nil
	}
	fmt.Fprint(stderr, mainUsage)
	return fmt.Errorf("unknown command %q", cmd)
}

// newFlags makes a flag set whose --help prints the command's usage and the
// environment.
func newFlags(name, usage string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
		fmt.Fprint(out, server.Usage())
	}
	return fs
}

func newLogger(cfg *server.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
