package access

import (
	"testing"

	"github.com/chatd/chatd/chat"
)

func TestChatPolicy(t *testing.T) {
	ece := &chat.Agent{ID: "ece", Role: chat.RoleAgent, Units: []string{"account"}}
	can := &chat.Agent{ID: "can", Role: chat.RoleAgent, Units: []string{"account"}}
	tom := &chat.Agent{ID: "tom", Role: chat.RoleAgent, Units: []string{"technical"}}
	sue := &chat.Agent{ID: "sue", Role: chat.RoleSupervisor, Units: []string{"account"}}
	sam := &chat.Agent{ID: "sam", Role: chat.RoleSupervisor, Units: []string{"technical"}}
	ada := &chat.Agent{ID: "ada", Role: chat.RoleAdmin, Units: []string{"general"}}
	var (
		nobody   = chat.Principal{}
		owner    = chat.Principal{VisitorID: "v1"}
		stranger = chat.Principal{VisitorID: "v2"}
		anyKey   = chat.Principal{APIKey: &chat.APIKey{ID: "k1"}}
		techKey  = chat.Principal{APIKey: &chat.APIKey{ID: "k2", Units: []string{"technical"}}}
	)
	active := &chat.Chat{ID: "c", VisitorID: "v1", Unit: "account", Status: chat.StatusActive, AgentID: "ece"}
	queued := &chat.Chat{ID: "c", VisitorID: "v1", Unit: "account", Status: chat.StatusQueued}
	closed := &chat.Chat{ID: "c", VisitorID: "v1", Unit: "account", Status: chat.StatusClosed, AgentID: "ece"}
	// Ece's chat moved to a unit she does not serve while still hers.
	moved := &chat.Chat{ID: "c", VisitorID: "v1", Unit: "technical", Status: chat.StatusActive, AgentID: "ece"}
	tests := []struct {
		name   string
		who    chat.Principal
		action Action
		chat   *chat.Chat
		want   string // error code, "" for allowed
	}{
		{"nobody reads", nobody, ReadChat, active, chat.EUnauthorized},
		{"owner reads", owner, ReadChat, active, ""},
		{"owner writes", owner, WriteChat, active, ""},
		{"owner writes while waiting", owner, WriteChat, queued, ""},
		{"owner writes to a closed chat", owner, WriteChat, closed, chat.EChatClosed},
		{"owner reads a closed chat", owner, ReadChat, closed, ""},
		{"owner closes", owner, CloseChat, active, ""},
		{"owner rates a closed chat", owner, RateChat, closed, ""},
		{"owner adds a note", owner, NoteChat, active, chat.EForbidden},
		{"owner transfers", owner, TransferChat, active, chat.EForbidden},
		{"owner escalates", owner, EscalateChat, active, chat.EForbidden},
		{"another visitor reads", stranger, ReadChat, active, chat.ENotFound},
		{"another visitor writes", stranger, WriteChat, active, chat.ENotFound},
		{"another visitor rates", stranger, RateChat, active, chat.ENotFound},
		{"its agent writes", chat.Principal{Agent: ece}, WriteChat, active, ""},
		{"its agent notes", chat.Principal{Agent: ece}, NoteChat, active, ""},
		{"its agent escalates", chat.Principal{Agent: ece}, EscalateChat, active, ""},
		{"its agent writes to a closed chat", chat.Principal{Agent: ece}, WriteChat, closed, chat.EChatClosed},
		{"its agent rates", chat.Principal{Agent: ece}, RateChat, active, chat.EForbidden},
		{"its agent starts a chat", chat.Principal{Agent: ece}, StartChat, nil, chat.EForbidden},
		{"its agent, unit left", chat.Principal{Agent: ece}, WriteChat, moved, ""},
		{"another agent of the unit reads", chat.Principal{Agent: can}, ReadChat, active, chat.ENotAssigned},
		{"another agent of the unit writes", chat.Principal{Agent: can}, WriteChat, active, chat.ENotAssigned},
		{"an agent of the unit writes to a waiting chat", chat.Principal{Agent: can}, WriteChat, queued, chat.ENotAssigned},
		{"an agent of another unit reads", chat.Principal{Agent: tom}, ReadChat, active, chat.ENotFound},
		{"supervisor of the unit reads", chat.Principal{Agent: sue}, ReadChat, active, ""},
		{"supervisor of the unit reads the assignments", chat.Principal{Agent: sue}, ReadAssignments, closed, ""},
		{"supervisor of another unit reads the assignments", chat.Principal{Agent: sam}, ReadAssignments, active, chat.ENotFound},
		{"admin reads the assignments", chat.Principal{Agent: ada}, ReadAssignments, queued, ""},
		{"its agent reads the assignments", chat.Principal{Agent: ece}, ReadAssignments, active, chat.EForbidden},
		{"a key reads the assignments", anyKey, ReadAssignments, active, chat.EForbidden},
		{"owner reads the assignments", owner, ReadAssignments, active, chat.EForbidden},
		{"supervisor of the unit writes", chat.Principal{Agent: sue}, WriteChat, active, ""},
		{"supervisor of the unit notes a waiting chat", chat.Principal{Agent: sue}, NoteChat, queued, ""},
		{"supervisor writes to a waiting chat", chat.Principal{Agent: sue}, WriteChat, queued, chat.ENotAssigned},
		{"supervisor notes a closed chat", chat.Principal{Agent: sue}, NoteChat, closed, chat.EChatClosed},
		{"supervisor transfers", chat.Principal{Agent: sue}, TransferChat, active, ""},
		{"supervisor of another unit reads", chat.Principal{Agent: sam}, ReadChat, active, chat.ENotFound},
		{"admin reads any unit", chat.Principal{Agent: ada}, ReadChat, active, ""},
		{"admin writes", chat.Principal{Agent: ada}, WriteChat, active, ""},
		{"key reads", anyKey, ReadChat, active, ""},
		{"key escalates", anyKey, EscalateChat, active, ""},
		{"key writes", anyKey, WriteChat, active, chat.EForbidden},
		{"key of another unit reads", techKey, ReadChat, active, chat.ENotFound},
		{"key of the unit reads", techKey, ReadChat, moved, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.chat == nil {
				err = Allow(tt.who, tt.action)
			} else {
				err = Chat(tt.who, tt.action, tt.chat)
			}
			if got := code(err); got != tt.want {
				t.Errorf("%s %s: %v, want %q", tt.who.Key(), tt.action, err, tt.want)
			}
		})
	}
}

func TestMayWriteIsThePolicy(t *testing.T) {
	c := &chat.Chat{ID: "c", VisitorID: "v1", Unit: "account", Status: chat.StatusQueued}
	sue := chat.Principal{Agent: &chat.Agent{ID: "sue", Role: chat.RoleSupervisor, Units: []string{"account"}}}
	if err := MayWrite(sue, chat.KindNote, c); err != nil {
		t.Errorf("a supervisor's note to a waiting chat: %v", err)
	}
	if got := code(MayWrite(sue, chat.KindMessage, c)); got != chat.ENotAssigned {
		t.Errorf("a supervisor's message to a waiting chat: %q, want not_assigned", got)
	}
}

func TestAllow(t *testing.T) {
	admin := chat.Principal{Agent: &chat.Agent{ID: "a", Role: chat.RoleAdmin}}
	sup := chat.Principal{Agent: &chat.Agent{ID: "s", Role: chat.RoleSupervisor}}
	agent := chat.Principal{Agent: &chat.Agent{ID: "g", Role: chat.RoleAgent}}
	visitor := chat.Principal{VisitorID: "v"}
	key := chat.Principal{APIKey: &chat.APIKey{ID: "k"}}
	for _, tt := range []struct {
		who    chat.Principal
		action Action
		want   string
	}{
		{admin, ManageStaff, ""}, {sup, ManageStaff, chat.EForbidden}, {agent, ManageStaff, chat.EForbidden},
		{sup, ListStaff, ""}, {agent, ListStaff, chat.EForbidden},
		{admin, ReadAudit, ""}, {sup, ReadAudit, chat.EForbidden}, {key, ReadAudit, chat.EForbidden},
		{visitor, StaffSession, chat.EForbidden}, {key, StaffSession, chat.EForbidden}, {agent, StaffSession, ""},
		{visitor, SetPresence, chat.EForbidden}, {agent, SetPresence, ""},
		{visitor, KeepAlive, ""}, {agent, KeepAlive, ""}, {admin, KeepAlive, ""}, {key, KeepAlive, chat.EForbidden}, {chat.Principal{}, KeepAlive, chat.EUnauthorized},
		{chat.Principal{}, ListStaff, chat.EUnauthorized},
		{admin, Action("no.such.action"), chat.EForbidden},
		// The customer's rights: their own with their token, anyone's by an admin.
		{visitor, ExportOwnData, ""}, {visitor, EraseOwnData, ""}, {admin, ExportOwnData, chat.EForbidden}, {key, EraseOwnData, chat.EForbidden},
		{admin, ExportVisitor, ""}, {admin, EraseVisitor, ""}, {sup, ExportVisitor, chat.EForbidden}, {agent, EraseVisitor, chat.EForbidden},
		{key, ExportVisitor, chat.EForbidden}, {visitor, EraseVisitor, chat.EForbidden}, {chat.Principal{}, EraseOwnData, chat.EUnauthorized},
	} {
		if got := code(Allow(tt.who, tt.action)); got != tt.want {
			t.Errorf("Allow(%s, %s) = %q, want %q", tt.who.Key(), tt.action, got, tt.want)
		}
	}
}

// TestVisitor: staff see a visitor's records as a whole only when one of
// them lies in their units; otherwise the visitor is not_found.
func TestVisitor(t *testing.T) {
	agent := chat.Principal{Agent: &chat.Agent{ID: "g", Role: chat.RoleAgent, Units: []string{"general"}}}
	if got := code(Visitor(agent, ReadVisitor, true)); got != "" {
		t.Errorf("seen: %q", got)
	}
	if got := code(Visitor(agent, ReadVisitor, false)); got != chat.ENotFound {
		t.Errorf("not seen: %q, want not_found", got)
	}
	if got := code(Visitor(chat.Principal{VisitorID: "v"}, ReadVisitor, true)); got != chat.EForbidden {
		t.Errorf("a visitor: %q, want forbidden", got)
	}
}

func TestSeesAgent(t *testing.T) {
	sup := chat.Principal{Agent: &chat.Agent{ID: "s", Role: chat.RoleSupervisor, Units: []string{"account"}}}
	mate := &chat.Agent{ID: "m", Units: []string{"general", "account"}}
	other := &chat.Agent{ID: "o", Units: []string{"technical"}}
	if !SeesAgent(sup, mate) || SeesAgent(sup, other) {
		t.Error("a supervisor sees exactly the staff sharing a unit")
	}
	if SeesAgent(chat.Principal{VisitorID: "v"}, mate) {
		t.Error("a visitor sees staff accounts")
	}
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return chat.ErrorCode(err)
}
