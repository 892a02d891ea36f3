package access

import (
	"testing"

	"github.com/chatd/chatd/chat"
)

func TestTicketPolicy(t *testing.T) {
	ece := chat.Principal{Agent: &chat.Agent{ID: "ece", Role: chat.RoleAgent, Units: []string{"account"}}}
	tom := chat.Principal{Agent: &chat.Agent{ID: "tom", Role: chat.RoleAgent, Units: []string{"technical"}}}
	sue := chat.Principal{Agent: &chat.Agent{ID: "sue", Role: chat.RoleSupervisor, Units: []string{"account"}}}
	ada := chat.Principal{Agent: &chat.Agent{ID: "ada", Role: chat.RoleAdmin, Units: []string{"general"}}}
	owner := chat.Principal{VisitorID: "v1"}
	stranger := chat.Principal{VisitorID: "v2"}
	anyKey := chat.Principal{APIKey: &chat.APIKey{ID: "k1"}}
	techKey := chat.Principal{APIKey: &chat.APIKey{ID: "k2", Units: []string{"technical"}}}
	tk := &chat.Ticket{ID: "t", Unit: "account", Status: chat.TicketOpen, VisitorID: "v1"}
	byEmail := &chat.Ticket{ID: "t2", Unit: "account", Status: chat.TicketOpen, Email: "a@example.com"}
	for _, tt := range []struct {
		name   string
		who    chat.Principal
		action Action
		ticket *chat.Ticket
		want   string
	}{
		{"nobody reads", chat.Principal{}, ReadTicket, tk, chat.EUnauthorized},
		{"owner reads", owner, ReadTicket, tk, ""},
		{"owner replies", owner, ReplyTicket, tk, ""},
		{"owner notes", owner, NoteTicket, tk, chat.EForbidden},
		{"owner moves", owner, MoveTicket, tk, chat.EForbidden},
		{"owner merges", owner, MergeTicket, tk, chat.EForbidden},
		{"another visitor reads", stranger, ReadTicket, tk, chat.ENotFound},
		{"another visitor replies", stranger, ReplyTicket, tk, chat.ENotFound},
		{"a visitor reads a ticket with no visitor", owner, ReadTicket, byEmail, chat.ENotFound},
		{"agent of the unit reads", ece, ReadTicket, tk, ""},
		{"agent of the unit replies", ece, ReplyTicket, tk, ""},
		{"agent of the unit notes", ece, NoteTicket, tk, ""},
		{"agent of the unit moves", ece, MoveTicket, tk, ""},
		{"agent of another unit reads", tom, ReadTicket, tk, chat.ENotFound},
		{"agent of another unit moves", tom, MoveTicket, tk, chat.ENotFound},
		{"supervisor of the unit merges", sue, MergeTicket, tk, ""},
		{"admin of another unit reads", ada, ReadTicket, tk, ""},
		{"key reads", anyKey, ReadTicket, tk, ""},
		{"key merges", anyKey, MergeTicket, tk, ""},
		{"limited key of another unit reads", techKey, ReadTicket, tk, chat.ENotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := code(Ticket(tt.who, tt.action, tt.ticket)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTranscriptPolicy(t *testing.T) {
	c := &chat.Chat{ID: "c", VisitorID: "v1", Unit: "account", Status: chat.StatusClosed, AgentID: "ece"}
	can := chat.Principal{Agent: &chat.Agent{ID: "can", Role: chat.RoleAgent, Units: []string{"account"}}}
	tom := chat.Principal{Agent: &chat.Agent{ID: "tom", Role: chat.RoleAgent, Units: []string{"technical"}}}
	for _, tt := range []struct {
		name string
		who  chat.Principal
		want string
	}{
		{"owner", chat.Principal{VisitorID: "v1"}, ""},
		{"another visitor", chat.Principal{VisitorID: "v2"}, chat.ENotFound},
		{"another agent of the unit", can, ""},
		{"agent of another unit", tom, chat.ENotFound},
		{"limited key of another unit", chat.Principal{APIKey: &chat.APIKey{ID: "k", Units: []string{"general"}}}, chat.ENotFound},
	} {
		if got := code(Chat(tt.who, ReadTranscript, c)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestUnitsAndCanned(t *testing.T) {
	sup := chat.Principal{Agent: &chat.Agent{ID: "s", Role: chat.RoleSupervisor, Units: []string{"account"}}}
	agent := chat.Principal{Agent: &chat.Agent{ID: "a", Role: chat.RoleAgent, Units: []string{"account"}}}
	admin := chat.Principal{Agent: &chat.Agent{ID: "x", Role: chat.RoleAdmin, Units: []string{"general"}}}
	if Units(admin) != nil || Units(chat.Principal{APIKey: &chat.APIKey{}}) != nil {
		t.Error("admins and unlimited keys see every unit")
	}
	if u := Units(sup); len(u) != 1 || u[0] != "account" {
		t.Errorf("supervisor units %v", u)
	}
	if u := Units(chat.Principal{VisitorID: "v"}); u == nil || len(u) != 0 {
		t.Errorf("a visitor sees no unit: %v", u)
	}
	if !ManagesCanned(sup, "account") || ManagesCanned(sup, "technical") || ManagesCanned(sup, "") || ManagesCanned(agent, "account") || !ManagesCanned(admin, "") {
		t.Error("standard replies: supervisors of the unit and admins")
	}
}
