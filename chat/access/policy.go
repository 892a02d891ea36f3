package access

import (
	"slices"
	"strings"

	"github.com/chatd/chatd/chat"
)

// Action is something a principal may try.
type Action string

// Actions on one chat.
const (
	StartChat    Action = "chat.start"    // a visitor starts a chat
	ReadChat     Action = "chat.read"     // follow a chat: its messages, typing, read receipts, transcript
	WriteChat    Action = "chat.write"    // send a message
	NoteChat     Action = "chat.note"     // add an internal note
	CloseChat    Action = "chat.close"    // end it
	RateChat     Action = "chat.rate"     // give it a satisfaction rating
	TransferChat Action = "chat.transfer" // move it to another unit or agent
	EscalateChat Action = "chat.escalate" // close it into a ticket
	// ReadAssignments: read why a chat went where it went (its assignment
	// records), to check that nothing was decided by hand.
	ReadAssignments Action = "chat.assignments"
)

// Actions not on one object.
const (
	StaffSession Action = "staff.session" // open the agent socket, read one's own account
	SetPresence  Action = "presence.set"  // go online, away or offline
	ListStaff    Action = "staff.list"    // read staff accounts (a supervisor: of their units)
	ManageStaff  Action = "staff.manage"  // create and change staff accounts
	ManageKeys   Action = "apikeys.manage"
	ReadAudit    Action = "audit.read"
	// VisitorSession: act on one's own visitor credential (revoke it).
	VisitorSession Action = "visitor.session"
	KeepAlive      Action = "session.ping" // ask an open socket for an answer (liveness)
	// ReadBoard: the live board of one's units (BoardUnits names them):
	// every agent's status, load and chats, every queue's length and wait.
	ReadBoard Action = "board.read"
	// ListUnitAgents: who is online in a unit, with load and capacity, to
	// pick a transfer target; any unit, since any staff member may transfer
	// a chat to any unit.
	ListUnitAgents Action = "unit.agents"
)

// Actions of the written channel. ReadTranscript is on a chat; the ticket
// actions are decided for one ticket by Ticket.
const (
	ReadTranscript Action = "transcript.read" // a finished or open chat's record
	CreateTicket   Action = "ticket.create"   // a written request (the offline form, an integrator)
	ReadTicket     Action = "ticket.read"
	ReplyTicket    Action = "ticket.reply" // a reply the customer sees
	NoteTicket     Action = "ticket.note"  // an internal note, staff only
	MoveTicket     Action = "ticket.move"  // change status or unit
	MergeTicket    Action = "ticket.merge" // merge into another ticket
	ListTickets    Action = "ticket.list"  // the written queue
	ReadHistory    Action = "history.read" // a visitor's own past chats and tickets
	ReadVisitor    Action = "visitor.read" // staff reading a visitor's past chats and tickets
	// The customer's rights: a visitor takes out or erases their own data;
	// an admin does it for a customer who asks another way (by email).
	ExportOwnData Action = "visitor.export.own"
	EraseOwnData  Action = "visitor.erase.own"
	ExportVisitor Action = "visitor.export"
	EraseVisitor  Action = "visitor.erase"
	ReadCanned    Action = "canned.read"
	ManageCanned  Action = "canned.manage" // supervisors of the reply's unit, admins
	ManageHooks   Action = "webhooks.manage"
)

const (
	visitor    = chat.KindVisitor
	agent      = chat.RoleAgent
	supervisor = chat.RoleSupervisor
	admin      = chat.RoleAdmin
	apikey     = chat.KindAPIKey
)

// grants lists the kinds of principal that may try each action at all;
// Chat then decides for the one chat.
var grants = map[Action][]string{
	StartChat:    {visitor},
	ReadChat:     {visitor, agent, supervisor, admin, apikey},
	WriteChat:    {visitor, agent, supervisor, admin},
	NoteChat:     {agent, supervisor, admin},
	CloseChat:    {visitor, agent, supervisor, admin},
	RateChat:     {visitor},
	TransferChat: {agent, supervisor, admin},
	EscalateChat: {agent, supervisor, admin, apikey},
	// Supervisors of the chat's unit and admins (Chat scopes the unit).
	ReadAssignments: {supervisor, admin},
	StaffSession:    {agent, supervisor, admin},
	SetPresence:     {agent, supervisor, admin},
	ListStaff:       {supervisor, admin},
	ManageStaff:     {admin},
	ManageKeys:      {admin},
	ReadAudit:       {admin},
	ReadBoard:       {supervisor, admin},
	ListUnitAgents:  {agent, supervisor, admin},

	VisitorSession: {visitor},
	KeepAlive:      {visitor, agent, supervisor, admin},
	ReadTranscript: {visitor, agent, supervisor, admin, apikey},
	CreateTicket:   {visitor, agent, supervisor, admin, apikey},
	ReadTicket:     {visitor, agent, supervisor, admin, apikey},
	ReplyTicket:    {visitor, agent, supervisor, admin, apikey},
	NoteTicket:     {agent, supervisor, admin, apikey},
	MoveTicket:     {agent, supervisor, admin, apikey},
	MergeTicket:    {agent, supervisor, admin, apikey},
	ListTickets:    {agent, supervisor, admin, apikey},
	ReadHistory:    {visitor},
	ReadVisitor:    {agent, supervisor, admin, apikey},
	ExportOwnData:  {visitor},
	EraseOwnData:   {visitor},
	ExportVisitor:  {admin},
	EraseVisitor:   {admin},
	ReadCanned:     {agent, supervisor, admin, apikey},
	ManageCanned:   {supervisor, admin},
	ManageHooks:    {admin},
}

// Allow reports whether p may try a at all: unauthorized without a
// credential, forbidden for a principal of the wrong kind.
func Allow(p chat.Principal, a Action) error {
	kind := p.Kind()
	if kind == "" {
		return chat.Errorf(chat.EUnauthorized, "a credential is required")
	}
	allowed, ok := grants[a]
	if !ok {
		return chat.Errorf(chat.EForbidden, "%s is not allowed", a)
	}
	if !slices.Contains(allowed, kind) {
		return chat.Errorf(chat.EForbidden, "%s is not allowed for %s (it needs %s)", a, kindName(kind), strings.Join(allowed, " or "))
	}
	return nil
}

func kindName(kind string) string {
	if kind == apikey {
		return "an API key"
	}
	if kind == admin || kind == agent {
		return "an " + kind
	}
	return "a " + kind
}

// Chat reports whether p may do a to chat c. A chat p may not see is
// not_found; staff of its unit acting on a chat assigned to someone else
// (or waiting) get not_assigned where only its agent may act; a message to
// a finished chat is chat_closed.
func Chat(p chat.Principal, a Action, c *chat.Chat) error {
	if err := Allow(p, a); err != nil {
		return err
	}
	switch {
	case p.Agent != nil:
		return staffChat(p.Agent, a, c)
	case p.APIKey != nil:
		if !keyServes(p.APIKey, c.Unit) {
			return chat.Errorf(chat.ENotFound, "no such chat")
		}
		return nil
	}
	if c.VisitorID != p.VisitorID {
		return chat.Errorf(chat.ENotFound, "no such chat")
	}
	if a == WriteChat && !c.Open() {
		return chat.Errorf(chat.EChatClosed, "chat is %s", c.Status)
	}
	return nil
}

// staffChat: staff see the chats of their units and the chats assigned to
// them (one of a unit they have since left included). Agents act only on
// their own; supervisors and admins on any of their units.
func staffChat(ag *chat.Agent, a Action, c *chat.Chat) error {
	mine := c.AgentID == ag.ID
	if !mine && !ag.Serves(c.Unit) {
		return chat.Errorf(chat.ENotFound, "no such chat")
	}
	if a == ReadTranscript { // the unit's records are open to all its staff
		return nil
	}
	if !mine && ag.Role == chat.RoleAgent {
		return chat.Errorf(chat.ENotAssigned, "chat is not assigned to you")
	}
	switch a {
	case WriteChat:
		switch c.Status {
		case chat.StatusActive:
			return nil
		case chat.StatusQueued:
			return chat.Errorf(chat.ENotAssigned, "chat is waiting in the queue")
		}
		return chat.Errorf(chat.EChatClosed, "chat is %s", c.Status)
	case NoteChat:
		if !c.Open() {
			return chat.Errorf(chat.EChatClosed, "chat is %s", c.Status)
		}
	}
	return nil
}

// MayWrite is the rule for storing a message or note of kind in chat c: the
// store applies it to the chat row it has locked, so a transfer or a close
// committed a moment before is seen.
func MayWrite(p chat.Principal, kind string, c *chat.Chat) error {
	if kind == chat.KindNote {
		return Chat(p, NoteChat, c)
	}
	return Chat(p, WriteChat, c)
}

// Audited reports whether p reading chat c is a look at someone else's
// record that the audit log must keep: staff reading a chat not assigned to
// them, and integrators.
func Audited(p chat.Principal, c *chat.Chat) bool {
	return p.APIKey != nil || (p.Agent != nil && c.AgentID != p.Agent.ID)
}

// SeesAgent reports whether staff member p may see account b: admins see
// everyone, supervisors those who share a unit with them.
func SeesAgent(p chat.Principal, b *chat.Agent) bool {
	if p.Agent == nil {
		return false
	}
	return p.Agent.Role == chat.RoleAdmin || slices.ContainsFunc(b.Units, p.Agent.Serves)
}

func keyServes(k *chat.APIKey, unit string) bool {
	return len(k.Units) == 0 || slices.Contains(k.Units, unit)
}

// Ticket reports whether p may do a to ticket t. A ticket p may not see is
// not_found: another visitor's, or one of a unit the staff member or the
// API key does not serve. Any staff member of the unit works the unit's
// written queue.
func Ticket(p chat.Principal, a Action, t *chat.Ticket) error {
	if err := Allow(p, a); err != nil {
		return err
	}
	if !SeesUnit(p, t.Unit) && !(p.VisitorID != "" && t.VisitorID == p.VisitorID) {
		return chat.Errorf(chat.ENotFound, "no such ticket")
	}
	return nil
}

// Visitor reports whether p may do a to a visitor's records as a whole (a
// staff member's look at their history), given whether any record of the
// visitor lies in p's units (seen; always true for those limited to no
// unit). A visitor of whom p may see nothing is not_found, as a visitor
// id that names nobody is, so ids cannot be probed across units.
func Visitor(p chat.Principal, a Action, seen bool) error {
	if err := Allow(p, a); err != nil {
		return err
	}
	if !seen {
		return chat.Errorf(chat.ENotFound, "no such visitor")
	}
	return nil
}

// SeesUnit reports whether staff member or API key p sees the records of
// unit: admins and unlimited keys every unit, others theirs. A visitor sees
// no unit as such, only their own records.
func SeesUnit(p chat.Principal, unit string) bool {
	switch {
	case p.Agent != nil:
		return p.Agent.Serves(unit)
	case p.APIKey != nil:
		return keyServes(p.APIKey, unit)
	}
	return false
}

// Units names the units p is limited to; nil means every unit (admins,
// unlimited API keys). A visitor has none.
func Units(p chat.Principal) []string {
	switch {
	case p.Agent != nil:
		if p.Agent.Role == chat.RoleAdmin {
			return nil
		}
		return append([]string{}, p.Agent.Units...)
	case p.APIKey != nil:
		if len(p.APIKey.Units) == 0 {
			return nil
		}
		return append([]string{}, p.APIKey.Units...)
	}
	return []string{}
}

// BoardUnits names the units whose board p may read, out of every
// configured unit: admins all of them, supervisors theirs, others none.
func BoardUnits(p chat.Principal, all []string) []string {
	if Allow(p, ReadBoard) != nil {
		return nil
	}
	var out []string
	for _, u := range all {
		if SeesUnit(p, u) {
			out = append(out, u)
		}
	}
	return out
}

// ManagesCanned reports whether p may change a standard reply of unit ("" for
// one of every unit): admins any, supervisors those of their units.
func ManagesCanned(p chat.Principal, unit string) bool {
	if p.Agent == nil {
		return false
	}
	if p.Agent.Role == chat.RoleAdmin {
		return true
	}
	return p.Agent.Role == chat.RoleSupervisor && unit != "" && slices.Contains(p.Agent.Units, unit)
}
