package chat_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsPointDown keeps the layout the README describes: the domain
// and the access policy do no I/O of the web or the sockets, the store and
// the assigner never see the web framework, and the ticket side never
// sees sockets.
func TestImportsPointDown(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := map[string][]string{
		"github.com/chatd/chatd/chat":        {"github.com/labstack/echo/v4", "github.com/coder/websocket", "github.com/redis/go-redis/v9", "github.com/jmoiron/sqlx", "github.com/chatd/chatd/"},
		"github.com/chatd/chatd/chat/access": {"github.com/labstack/echo/v4", "github.com/coder/websocket", "github.com/jmoiron/sqlx", "github.com/chatd/chatd/chat/live", "github.com/chatd/chatd/store", "github.com/chatd/chatd/transcript"},
		"github.com/chatd/chatd/transcript":  {"github.com/coder/websocket", "github.com/chatd/chatd/chat/live", "github.com/chatd/chatd/store", "github.com/chatd/chatd/assign"},
		"github.com/chatd/chatd/store":       {"github.com/labstack/echo/v4", "github.com/coder/websocket", "github.com/chatd/chatd/chat/live", "github.com/chatd/chatd/transcript"},
		"github.com/chatd/chatd/assign":      {"github.com/labstack/echo/v4", "github.com/coder/websocket", "github.com/chatd/chatd/"},
		"github.com/chatd/chatd/chat/live":   {"github.com/chatd/chatd/transcript", "github.com/chatd/chatd/store", "github.com/jmoiron/sqlx"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == pkg {
				continue
			}
			for _, b := range bad {
				if dep == b || (strings.HasSuffix(b, "/") && strings.HasPrefix(dep, b)) {
					t.Errorf("%s imports %s", pkg, dep)
				}
			}
		}
	}
}
