package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/chat/live"
)

// The access matrix: every REST route and every socket frame, tried by
// every kind of principal against the records of one visitor of one unit,
// with the answer each must get. A route mounted or a frame type handled
// without a row here fails the test, so nothing new reaches a client
// without a decision on who may use it.
//
// To add a route: one line in routeMatrix, its want in the column order
// below (args and body name fixture values; see routeRow). A route that
// changes something gets a refusalProbe, so a refused call is shown to
// change nothing. To add a frame type: one line in frameMatrix.

// The kinds of principal, in the order of the columns of want.
const (
	pNone       = iota // no credential
	pOwner             // V1: the visitor whose chat and ticket the rows name
	pOther             // V2: another visitor, with a chat and a ticket of their own
	pAgent             // A1: agent of general; V1's chats are assigned to them
	pAgentOther        // A2: agent of account only
	pSuper             // S: supervisor of general, signed in as the console is (cookie and CSRF token)
	pAdmin             // the admin
	pKey               // an API key of every unit
	pKeyLimited        // an API key limited to account
	nPrincipals
)

var principalNames = [nPrincipals]string{"nobody", "owner visitor", "other visitor", "agent of the unit",
	"agent of another unit", "supervisor of the unit", "admin", "API key", "API key of another unit"}

// routeRow is what each kind of principal gets from one route.
type routeRow struct {
	method, path string // as mounted
	// args names, in order, the fixture values of the path's parameters
	// (see newMatrixFixture); a name starting with + is a fresh object
	// made for each call, for calls that use their object up. body may
	// name values the same way, as $name or $+name.
	args, body string
	// query, if any, is sent after the path; it may name values as body
	// does.
	query string
	// want: the answer to each principal, in the order of the constants
	// above: ok (2xx, or the socket opened), 401, 403 or 404.
	want string
	// audit, for the read of a record named by the first parameter: the
	// audit action an allowed staff or API key read writes, and the one a
	// refused try (404, by anyone) writes.
	audit string
	// uses: what the call uses up, so each principal comes with a fresh
	// one: "token", its credential (a logout: visitors get a new token,
	// staff a new session); "visitor", the visitor themselves (an
	// erasure: the two visitors are new visitors, each with a ticket in
	// general, and the owner owns only their own records).
	uses string
	// scoped: the answer is {items}; the principals of account alone must
	// find nothing of general in it.
	scoped bool
}

// The paths name V1's and general's records, so everyone else is refused.
// A route may have several rows (other bodies or objects); each mounted
// route needs at least one.
var routeMatrix = []routeRow{
	// Health, metrics, the API's description and the pages: anyone.
	{method: "GET", path: "/healthz", want: "ok ok ok ok ok ok ok ok ok"},
	{method: "GET", path: "/readyz", want: "ok ok ok ok ok ok ok ok ok"},
	{method: "GET", path: "/metrics", want: "ok ok ok ok ok ok ok ok ok"},
	{method: "GET", path: "/api/v1/openapi.json", want: "ok ok ok ok ok ok ok ok ok"},
	{method: "GET", path: "/", want: "ok ok ok ok ok ok ok ok ok"},
	{method: "GET", path: "/console", want: "ok ok ok ok ok ok ok ok ok"},
	{method: "GET", path: "/widget", want: "ok ok ok ok ok ok ok ok ok"},
	{method: "GET", path: "/widget.js", want: "ok ok ok ok ok ok ok ok ok"},
	{method: "GET", path: "/static/*", args: "asset", want: "ok ok ok ok ok ok ok ok ok"},
	{method: "GET", path: "/api/v1/units", want: "ok ok ok ok ok ok ok ok ok"},

	// The sockets: visitors on one, staff on the other.
	{method: "GET", path: "/ws/visitor", want: "401 ok  ok  401 401 401 401 401 401"},
	{method: "GET", path: "/ws/agent", want: "401 401 401 ok  ok  ok  ok  401 401"},

	// Credentials.
	{method: "POST", path: "/api/v1/visitors", body: `{}`, want: "ok ok ok ok ok ok ok ok ok"},
	{method: "POST", path: "/api/v1/visitor/logout", uses: "token", want: "401 ok  ok  403 403 403 403 403 403"},
	{method: "GET", path: "/api/v1/visitor/token", want: "401 ok  ok  403 403 403 403 403 403"},
	{method: "POST", path: "/api/v1/auth/login", body: `{"email":"$login","password":"agent-password"}`, want: "ok ok ok ok ok ok ok ok ok"},
	{method: "POST", path: "/api/v1/auth/logout", uses: "token", want: "ok ok ok ok ok ok ok ok ok"},
	{method: "GET", path: "/api/v1/auth/me", want: "401 403 403 ok  ok  ok  ok  403 403"},

	// Staff accounts, keys and the audit log.
	{method: "POST", path: "/api/v1/agents", body: `{"email":"$+email","password":"new-password","name":"New","units":["general"]}`, want: "401 403 403 403 403 403 ok  403 403"},
	{method: "GET", path: "/api/v1/agents", want: "401 403 403 403 403 ok  ok  403 403"},
	{method: "PATCH", path: "/api/v1/agents/:id", args: "staffer", body: `{"max_chats":3}`, want: "401 403 403 403 403 403 ok  403 403"},
	{method: "POST", path: "/api/v1/apikeys", body: `{"name":"crm"}`, want: "401 403 403 403 403 403 ok  403 403"},
	{method: "GET", path: "/api/v1/apikeys", want: "401 403 403 403 403 403 ok  403 403"},
	{method: "DELETE", path: "/api/v1/apikeys/:id", args: "+key", want: "401 403 403 403 403 403 ok  403 403"},
	{method: "GET", path: "/api/v1/audit", want: "401 403 403 403 403 403 ok  403 403"},

	// The live desk: the board of one's units, a unit's agents to transfer to.
	{method: "GET", path: "/api/v1/board", want: "401 403 403 403 403 ok  ok  403 403"},
	{method: "GET", path: "/api/v1/units/:unit/agents", args: "unit", want: "401 403 403 ok  ok  ok  ok  403 403"},

	// Chats' records.
	{method: "GET", path: "/api/v1/transcripts/:id", args: "chat", want: "401 ok  404 ok  404 ok  ok  ok  404", audit: "transcript.read transcript.read.denied"},
	{method: "GET", path: "/api/v1/chats/:chat_id/assignments", args: "chat", want: "401 403 403 403 403 ok  ok  403 403", audit: "chat.assignments.read chat.assignments.denied"},
	{method: "POST", path: "/api/v1/chats/:id/escalate", args: "+chat", body: `{"subject":"matrix"}`, want: "401 403 403 ok  404 ok  ok  ok  404"},
	{method: "GET", path: "/api/v1/visitor/history", want: "401 ok  ok  403 403 403 403 403 403"},
	{method: "GET", path: "/api/v1/visitors/:id/history", args: "visitor", want: "401 403 403 ok  404 ok  ok  ok  404", audit: "visitor.read visitor.read.denied", scoped: true},
	{method: "GET", path: "/api/v1/visitor/export", want: "401 ok  ok  403 403 403 403 403 403"},
	{method: "DELETE", path: "/api/v1/visitor", uses: "visitor", want: "401 ok  ok  403 403 403 403 403 403"},
	{method: "GET", path: "/api/v1/visitors/export", query: "visitor_id=$visitor", want: "401 403 403 403 403 403 ok  403 403"},
	{method: "GET", path: "/api/v1/visitors/export", query: "email=$+customer", want: "401 403 403 403 403 403 ok  403 403"},
	{method: "DELETE", path: "/api/v1/visitors", query: "visitor_id=$+visitor", want: "401 403 403 403 403 403 ok  403 403"},
	{method: "DELETE", path: "/api/v1/visitors", query: "email=$+customer", want: "401 403 403 403 403 403 ok  403 403"},
	{method: "GET", path: "/api/v1/visitors/:id/history", args: "stranger", want: "401 403 403 404 404 404 404 404 404", audit: "visitor.read visitor.read.denied"},

	// Tickets.
	{method: "POST", path: "/api/v1/tickets", body: `{"unit":"general","visitor_id":"$visitor","text":"$+text"}`, want: "401 ok  403 ok  403 ok  ok  ok  403"},
	{method: "GET", path: "/api/v1/tickets", want: "401 403 403 ok  ok  ok  ok  ok  ok", scoped: true},
	{method: "GET", path: "/api/v1/tickets/:id", args: "ticket", want: "401 ok  404 ok  404 ok  ok  ok  404", audit: "ticket.read ticket.read.denied"},
	{method: "PATCH", path: "/api/v1/tickets/:id", args: "+ticket", body: `{"status":"pending"}`, want: "401 403 403 ok  404 ok  ok  ok  404"},
	{method: "POST", path: "/api/v1/tickets/:id/replies", args: "ticket", body: `{"text":"a reply"}`, want: "401 ok  404 ok  404 ok  ok  ok  404"},
	{method: "POST", path: "/api/v1/tickets/:id/replies", args: "ticket", body: `{"text":"a note","internal":true}`, want: "401 403 403 ok  404 ok  ok  ok  404"},
	{method: "POST", path: "/api/v1/tickets/:id/merge", args: "+ticket", body: `{"into":"$+ticket"}`, want: "401 403 403 ok  404 ok  ok  ok  404"},

	// Standard replies (of general).
	{method: "GET", path: "/api/v1/canned-replies", want: "401 403 403 ok  ok  ok  ok  ok  ok", scoped: true},
	{method: "POST", path: "/api/v1/canned-replies", body: `{"unit":"general","lang":"en","title":"Hi","text":"Hello"}`, want: "401 403 403 403 403 ok  ok  403 403"},
	{method: "PATCH", path: "/api/v1/canned-replies/:id", args: "canned", body: `{"text":"Changed"}`, want: "401 403 403 403 403 ok  ok  403 403"},
	{method: "DELETE", path: "/api/v1/canned-replies/:id", args: "+canned", want: "401 403 403 403 403 ok  ok  403 403"},

	// Webhooks.
	{method: "POST", path: "/api/v1/webhooks", body: `{"url":"http://127.0.0.1:9/hook","events":["ticket.created"]}`, want: "401 403 403 403 403 403 ok  403 403"},
	{method: "GET", path: "/api/v1/webhooks", want: "401 403 403 403 403 403 ok  403 403"},
	{method: "DELETE", path: "/api/v1/webhooks/:id", args: "+hook", want: "401 403 403 403 403 403 ok  403 403"},
	{method: "GET", path: "/api/v1/webhooks/:id/deliveries", args: "hook", want: "401 403 403 403 403 403 ok  403 403"},
	{method: "POST", path: "/api/v1/webhooks/:id/deliveries/:delivery/redeliver", args: "hook delivery", want: "401 403 403 403 403 403 ok  403 403"},
}

// refusalProbes read, by route, the state a refused call must leave as it
// was; args are the call's path parameters. (A redelivery has none: the
// deliverer keeps changing the delivery's state while it retries.)
var refusalProbes = map[string]func(f *matrixFixture, args []string) any{
	"POST /api/v1/agents":               func(f *matrixFixture, _ []string) any { return state(f.n.DB.Agents(f.ctx)) },
	"PATCH /api/v1/agents/:id":          func(f *matrixFixture, a []string) any { return state(f.n.DB.Agent(f.ctx, a[0])) },
	"POST /api/v1/apikeys":              func(f *matrixFixture, _ []string) any { return state(f.n.DB.APIKeys(f.ctx)) },
	"DELETE /api/v1/apikeys/:id":        func(f *matrixFixture, _ []string) any { return state(f.n.DB.APIKeys(f.ctx)) },
	"POST /api/v1/chats/:id/escalate":   func(f *matrixFixture, a []string) any { return state(f.n.DB.Chat(f.ctx, a[0])) },
	"POST /api/v1/tickets":              func(f *matrixFixture, _ []string) any { return f.ticketsOf(f.visitor(pOwner)) },
	"PATCH /api/v1/tickets/:id":         func(f *matrixFixture, a []string) any { return state(f.n.DB.Ticket(f.ctx, a[0])) },
	"POST /api/v1/tickets/:id/replies":  func(f *matrixFixture, a []string) any { return state(f.n.DB.TicketEntries(f.ctx, a[0], true)) },
	"POST /api/v1/tickets/:id/merge":    func(f *matrixFixture, a []string) any { return state(f.n.DB.Ticket(f.ctx, a[0])) },
	"POST /api/v1/canned-replies":       func(f *matrixFixture, _ []string) any { return state(f.n.DB.CannedReplies(f.ctx, nil, "")) },
	"PATCH /api/v1/canned-replies/:id":  func(f *matrixFixture, a []string) any { return state(f.n.DB.CannedReply(f.ctx, a[0])) },
	"DELETE /api/v1/canned-replies/:id": func(f *matrixFixture, a []string) any { return state(f.n.DB.CannedReply(f.ctx, a[0])) },
	"POST /api/v1/webhooks":             func(f *matrixFixture, _ []string) any { return state(f.n.DB.Webhooks(f.ctx)) },
	"DELETE /api/v1/webhooks/:id":       func(f *matrixFixture, _ []string) any { return state(f.n.DB.Webhooks(f.ctx)) },
	"POST /api/v1/visitor/logout":       func(f *matrixFixture, _ []string) any { return f.tokensAlive() },
	"POST /api/v1/auth/logout":          func(f *matrixFixture, _ []string) any { return f.tokensAlive() },
}

// frameRow is what each principal with a socket gets from one frame type.
// Nobody and API keys open no socket at all (the /ws/ rows above).
type frameRow struct {
	typ string
	// chat names the fixture value of chat_id ("" for none); +chat is
	// V1's open chat with A1, a new one when the last was used up.
	chat string
	// fields: the frame's other members, as JSON object members.
	fields string
	// want: for the owner, the other visitor, the agent of the unit, the
	// agent of another unit, the supervisor and the admin: ok (acked, or
	// for frames without an ack, no error) or the error code.
	want string
	// audit: the action a look by staff who are not the chat's agent
	// writes, and the one a refused look by staff writes.
	audit string
}

var frameMatrix = []frameRow{
	{typ: "chat.start", fields: `"unit":"general","text":"hello again","age_confirmed":true`, want: "ok ok forbidden forbidden forbidden forbidden"},
	{typ: "message", chat: "+chat", fields: `"text":"hi"`, want: "ok not_found ok not_found ok ok"},
	{typ: "note", chat: "+chat", fields: `"text":"between us"`, want: "forbidden forbidden ok not_found ok ok"},
	{typ: "typing", chat: "+chat", fields: `"on":true`, want: "ok not_found ok not_found ok ok"},
	{typ: "read", chat: "+chat", fields: `"seq":1`, want: "ok not_found ok not_found ok ok"},
	{typ: "resume", chat: "+chat", fields: `"after_seq":0`, want: "ok not_found ok not_found ok ok", audit: "chat.viewed chat.view_denied"},
	{typ: "csat", chat: "chat", fields: `"rating":5`, want: "ok not_found forbidden forbidden forbidden forbidden"},
	{typ: "presence", fields: `"status":"away"`, want: "forbidden forbidden ok ok ok ok"},
	{typ: "chat.transfer", chat: "+chat", fields: `"unit":"account"`, want: "forbidden forbidden ok not_found ok ok"},
	{typ: "chat.close", chat: "+chat", want: "ok not_found ok not_found ok ok"},
	{typ: "chat.escalate", chat: "+chat", want: "forbidden forbidden ok not_found ok ok"},
	{typ: "ping", want: "ok ok ok ok ok ok"},
}

// framesWithoutAck are answered only when refused (PROTOCOL.md).
var framesWithoutAck = map[string]bool{"typing": true, "read": true, "resume": true, "ping": true}

func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	f := newMatrixFixture(t)
	checkMatrixCoversRoutes(t, f.n)
	checkMatrixCoversFrames(t)
	if t.Failed() {
		return
	}
	for _, r := range routeMatrix {
		f.runRoute(r)
	}
	for _, r := range frameMatrix {
		f.runFrame(r)
	}
}

// checkMatrixCoversRoutes fails naming every mounted route without a row
// and every row without a route.
func checkMatrixCoversRoutes(t *testing.T, n *node) {
	t.Helper()
	rows := map[string]bool{}
	for _, r := range routeMatrix {
		rows[r.method+" "+r.path] = true
		w := strings.Fields(r.want)
		if len(w) != nPrincipals {
			t.Errorf("row %s %s: want has %d answers, not %d", r.method, r.path, len(w), nPrincipals)
		}
		for _, a := range w {
			if !slices.Contains([]string{"ok", "401", "403", "404"}, a) {
				t.Errorf("row %s %s: want %q: an answer is ok, 401, 403 or 404", r.method, r.path, a)
			}
		}
	}
	mounted := map[string]bool{}
	for _, r := range n.Echo.Routes() {
		if r.Method == "echo_route_not_found" {
			continue
		}
		key := r.Method + " " + r.Path
		mounted[key] = true
		if !rows[key] {
			t.Errorf("route %s has no row in the access matrix (routeMatrix in access_matrix_test.go): decide who may use it", key)
		}
	}
	for key := range rows {
		if !mounted[key] {
			t.Errorf("the access matrix has a row for %s, which is not mounted", key)
		}
	}
	for key := range refusalProbes {
		if !rows[key] {
			t.Errorf("refusalProbes names %s, which has no row", key)
		}
	}
}

// checkMatrixCoversFrames fails naming every client frame type the socket
// handles without a row, and every row of a type it does not handle.
func checkMatrixCoversFrames(t *testing.T) {
	t.Helper()
	handled := live.ClientFrames()
	rows := map[string]bool{}
	for _, r := range frameMatrix {
		rows[r.typ] = true
		if w := strings.Fields(r.want); len(w) != pAdmin-pOwner+1 {
			t.Errorf("frame row %s: want has %d answers, not %d", r.typ, len(w), pAdmin-pOwner+1)
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(handled)) {
		if !rows[typ] {
			t.Errorf("frame type %s (action %s) has no row in the access matrix (frameMatrix in access_matrix_test.go)", typ, handled[typ])
		}
	}
	for typ := range rows {
		if _, ok := handled[typ]; !ok {
			t.Errorf("the access matrix has a row for frame type %s, which the socket does not handle", typ)
		}
	}
}

// principal is one kind of caller and the credential it calls with.
type principal struct {
	kind  int
	id    string // the actor id of the audit log
	token string
	// cookie: the token goes as the console's session cookie, with the
	// CSRF token in its header and the console's own origin.
	cookie bool
	csrf   string
	sock   *wsClient // the socket frames are sent on (nil: none opens)
}

func (p *principal) name() string { return principalNames[p.kind] }

func (p *principal) isStaff() bool { return p.kind >= pAgent && p.kind <= pAdmin }

// authorize puts the credential on req as a client of its kind would.
func (p *principal) authorize(req *http.Request, n *node) {
	switch {
	case p.token == "":
	case p.cookie:
		req.AddCookie(&http.Cookie{Name: access.SessionCookie, Value: p.token})
		req.AddCookie(&http.Cookie{Name: access.CSRFCookie, Value: p.csrf})
		req.Header.Set(access.CSRFHeader, p.csrf)
		req.Header.Set("Origin", n.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	default:
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
}

// matrixFixture: units general and account; V1 with a chat in general
// assigned to A1 and a ticket there; V2 with their own; A1, A2, S, the
// admin, a key of every unit and one of account; a standard reply and a
// webhook (with a delivery) to act on, a staff account to change.
//
// The values rows name: visitor (V1's id), chat (V1's first chat), ticket
// (V1's ticket in general), stranger (an id no visitor has), canned (a
// standard reply of general), hook and delivery (a webhook and one of its
// deliveries), staffer (an agent of general to change), login (the email
// of a staff account whose password is agent-password), asset (a static
// file). Fresh ones, made for each call: +chat (V1's open chat with A1),
// +ticket (a ticket of V1 in general), +canned, +hook, +key (an API key's
// id), +email and +text (unique), +visitor and +customer (the id or the
// email of a new visitor with a ticket in general).
type matrixFixture struct {
	t     *testing.T
	ctx   context.Context
	n     *node
	p     [nPrincipals]*principal
	vals  map[string]string
	fresh map[string]func() string
	admin string // the admin's token, for setting up
	v1    *wsClient
	a1    *wsClient
	a1ID  string
	chat  string // V1's latest chat: what +chat hands out while it lasts
	// emails of the visitors newVisitor made, by id.
	emails map[string]string
}

func newMatrixFixture(t *testing.T) *matrixFixture {
	n := startNode(t, clusterVars(t, "CHAT_UNITS", "general,account"))
	f := &matrixFixture{t: t, ctx: context.Background(), n: n, vals: map[string]string{}, emails: map[string]string{}}
	// The admin's session is made in the store: a login would check the
	// password at bcrypt's full cost, seconds under -race.
	admin := must(n.DB.AgentByEmail(f.ctx, "admin@example.com"))
	f.admin = must(n.DB.CreateSession(f.ctx, admin.ID, time.Hour))
	f.vals["asset"] = "css/widget.css"
	f.vals["unit"] = "general"

	// Objects to act on, made first so that the tickets below write a
	// webhook delivery.
	hook := f.make("POST", "/api/v1/webhooks", `{"url":"http://127.0.0.1:9/hook","events":["ticket.created"]}`)
	f.vals["hook"] = hook
	f.vals["canned"] = f.make("POST", "/api/v1/canned-replies", `{"unit":"general","lang":"en","title":"Greeting","text":"Hello"}`)
	f.vals["staffer"] = createStaff(t, n, "Tamer", "agent", []string{"general"}, 2).id
	f.vals["login"] = createStaff(t, n, "Leyla", "agent", []string{"general"}, 2).email

	a1 := createStaff(t, n, "Ayse", "agent", []string{"general"}, 50)
	a2 := createStaff(t, n, "Berk", "agent", []string{"account"}, 5)
	sup := createStaff(t, n, "Selin", "supervisor", []string{"general"}, 5)
	v1, v1tok := createVisitor(t, n)
	v2, v2tok := createVisitor(t, n)
	keyID, key := createKey(t, n, f.admin)
	limID, lim := createKey(t, n, f.admin, "account")
	supTok, supCSRF := consoleSignIn(t, n, sup.email)
	f.p = [nPrincipals]*principal{
		{kind: pNone},
		{kind: pOwner, id: v1, token: v1tok},
		{kind: pOther, id: v2, token: v2tok},
		{kind: pAgent, id: a1.id, token: a1.token},
		{kind: pAgentOther, id: a2.id, token: a2.token},
		{kind: pSuper, id: sup.id, token: supTok, cookie: true, csrf: supCSRF},
		{kind: pAdmin, id: admin.ID, token: f.admin},
		{kind: pKey, id: keyID, token: key},
		{kind: pKeyLimited, id: limID, token: lim},
	}
	f.a1ID = a1.id
	for _, p := range f.p[pOwner : pAdmin+1] {
		p.sock = f.dialAs(p)
	}
	f.v1, f.a1 = f.p[pOwner].sock, f.p[pAgent].sock
	f.a1.call(map[string]any{"type": "presence", "status": "online"})

	f.vals["visitor"] = v1
	f.vals["stranger"] = uuid.NewString() // no visitor has this id
	f.vals["chat"] = f.openChat()
	f.vals["ticket"] = f.make("POST", "/api/v1/tickets", `{"unit":"general","text":"my withdrawal is late"}`, pOwner)
	startChat(t, f.p[pOther].sock, "general", "a question of my own")
	f.make("POST", "/api/v1/tickets", `{"unit":"general","text":"a matter of my own"}`, pOther)
	var dl struct{ Items []chat.Delivery }
	if !waitUntil(10*time.Second, func() bool {
		api(t, "GET", n.url+"/api/v1/webhooks/"+hook+"/deliveries", f.admin, nil, &dl)
		return len(dl.Items) > 0
	}) {
		t.Fatal("no webhook delivery to redeliver")
	}
	f.vals["delivery"] = dl.Items[0].ID

	f.fresh = map[string]func() string{
		"chat": f.openChat,
		"ticket": func() string {
			return f.make("POST", "/api/v1/tickets", `{"unit":"general","visitor_id":"`+v1+`","text":"case `+uuid.NewString()+`"}`)
		},
		"canned": func() string {
			return f.make("POST", "/api/v1/canned-replies", `{"unit":"general","lang":"en","title":"Bye","text":"Goodbye"}`)
		},
		"hook": func() string {
			return f.make("POST", "/api/v1/webhooks", `{"url":"http://127.0.0.1:9/other","events":["chat.closed"]}`)
		},
		"key":   func() string { id, _ := createKey(t, n, f.admin); return id },
		"email": func() string { return "new-" + uuid.NewString()[:8] + "@example.com" },
		"text":  func() string { return "matter " + uuid.NewString() },
		// A new visitor with an email and a ticket in general: their id,
		// or their email.
		"visitor":  func() string { id, _ := f.newVisitor(); return id },
		"customer": func() string { id, _ := f.newVisitor(); return f.emails[id] },
	}
	return f
}

// consoleSignIn logs staff in as the console does and returns the
// session token (the cookie's value) and the CSRF token.
func consoleSignIn(t *testing.T, n *node, email string) (string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", n.url+"/api/v1/auth/login", strings.NewReader(`{"email":"`+email+`","password":"agent-password"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", n.url)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("console login: %d %v", resp.StatusCode, err)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == access.SessionCookie {
			return ck.Value, body.CSRF
		}
	}
	t.Fatal("console login set no session cookie")
	return "", ""
}

// state is what a probe read: the value, or the error reading it gave
// (a record deleted reads as not found).
func state[T any](v T, err error) any {
	if err != nil {
		return "error: " + err.Error()
	}
	return v
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// make creates an object over REST, as the admin or as the principal
// given, and returns its id.
func (f *matrixFixture) make(method, path, body string, as ...int) string {
	f.t.Helper()
	p := f.p[pAdmin]
	if len(as) > 0 {
		p = f.p[as[0]]
	}
	tok := f.admin
	if p != nil {
		tok = p.token
	}
	var out struct{ ID string }
	if code := api(f.t, method, f.n.url+path, tok, json.RawMessage(body), &out); code != 201 || out.ID == "" {
		f.t.Fatalf("%s %s: %d", method, path, code)
	}
	return out.ID
}

func (f *matrixFixture) visitor(kind int) string { return f.p[kind].id }

func (f *matrixFixture) ticketsOf(visitorID string) []*chat.Ticket {
	items, _, err := f.n.DB.Tickets(f.ctx, chat.TicketFilter{VisitorID: visitorID, Limit: 200})
	if err != nil {
		f.t.Fatal(err)
	}
	return items
}

// tokensAlive tells which principals' credentials still work.
func (f *matrixFixture) tokensAlive() []bool {
	var out []bool
	for _, p := range f.p {
		_, err := f.n.Auth.Principal(f.ctx, p.token)
		out = append(out, err == nil)
	}
	return out
}

// dialAs opens the socket of p's kind with p's credential.
func (f *matrixFixture) dialAs(p *principal) *wsClient {
	f.t.Helper()
	if p.kind == pOwner || p.kind == pOther {
		c, _ := dialVisitor(f.t, f.n, p.token)
		return c
	}
	url := wsURL(f.n, "/ws/agent")
	if !p.cookie {
		url += "?token=" + p.token
	}
	c := dial(f.t, url, f.socketHeader(p))
	c.expect("hello", nil)
	return c
}

// socketHeader is the console's cookie for p, or nothing: the others
// bring ?token=, as a browser (which cannot set a socket's headers) does.
func (f *matrixFixture) socketHeader(p *principal) http.Header {
	if !p.cookie {
		return nil
	}
	return http.Header{"Cookie": {access.SessionCookie + "=" + p.token}, "Origin": {f.n.url}}
}

// openChat returns V1's chat in general assigned to A1: the last one while
// it lasts, else a new one (the open one closed first: a visitor has one
// open chat at a time).
func (f *matrixFixture) openChat() string {
	f.t.Helper()
	usable := func(id string) bool {
		ch := must(f.n.DB.Chat(f.ctx, id))
		return ch.Status == chat.StatusActive && ch.Unit == "general" && ch.AgentID == f.a1ID
	}
	if f.chat != "" && usable(f.chat) {
		return f.chat
	}
	f.a1.call(map[string]any{"type": "presence", "status": "online"})
	for range 3 {
		ack := f.v1.call(map[string]any{"type": "chat.start", "unit": "general", "age_confirmed": true,
			"text": "where is my withdrawal " + uuid.NewString()[:6]})
		id := ack.str("chat_id")
		if ack["existing"] == true { // a chat of an earlier row, elsewhere by now
			if usable(id) {
				f.chat = id
				return id
			}
			f.v1.call(map[string]any{"type": "chat.close", "chat_id": id})
			continue
		}
		if !waitUntil(10*time.Second, func() bool { return usable(id) }) {
			f.t.Fatalf("chat %s was not assigned to A1", id)
		}
		f.chat = id
		return id
	}
	f.t.Fatal("V1 could not start a chat")
	return ""
}

var valueRef = regexp.MustCompile(`\$\+?[a-z]+`)

// value returns the fixture value name stands for; +name makes a fresh one.
func (f *matrixFixture) value(name string) string {
	if fresh, ok := strings.CutPrefix(name, "+"); ok {
		mk, ok := f.fresh[fresh]
		if !ok {
			f.t.Fatalf("no maker of fresh %q", fresh)
		}
		return mk()
	}
	v, ok := f.vals[name]
	if !ok {
		f.t.Fatalf("no fixture value %q", name)
	}
	return v
}

// withCredential returns p, or, for a call that uses up its credential
// or its visitor (routeRow.uses), p with a fresh one.
func (f *matrixFixture) withCredential(p *principal, uses string) *principal {
	visitor := p.kind == pOwner || p.kind == pOther
	switch {
	case uses == "" || p.token == "" || p.kind == pKey || p.kind == pKeyLimited:
		return p
	case uses == "visitor" && !visitor:
		return p
	case uses != "token" && uses != "visitor":
		f.t.Fatalf("uses %q: want token or visitor", uses)
	}
	q := *p
	q.sock = nil
	var err error
	switch {
	case uses == "visitor":
		q.id, q.token = f.newVisitor()
	case visitor:
		q.token, err = f.n.Auth.IssueVisitorToken(f.ctx, p.id)
	default:
		q.token, err = f.n.DB.CreateSession(f.ctx, p.id, time.Hour)
		q.csrf = f.n.Auth.CSRFToken(q.token)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return &q
}

// newVisitor makes a visitor with an email and a ticket in general and
// returns their id and token.
func (f *matrixFixture) newVisitor() (id, token string) {
	f.t.Helper()
	var raw map[string]string
	email := "customer-" + uuid.NewString()[:8] + "@example.com"
	if code := api(f.t, "POST", f.n.url+"/api/v1/visitors", "", map[string]string{"name": "Can", "email": email}, &raw); code != 201 {
		f.t.Fatalf("create visitor: %d", code)
	}
	f.emails[raw["visitor_id"]] = email
	var out struct{ ID string }
	if code := api(f.t, "POST", f.n.url+"/api/v1/tickets", raw["token"], map[string]string{"unit": "general", "text": "please close my account"}, &out); code != 201 {
		f.t.Fatalf("ticket of a new visitor: %d", code)
	}
	return raw["visitor_id"], raw["token"]
}

// answer names a status as the matrix does.
func answer(status int) string {
	if status >= 200 && status < 300 || status == http.StatusSwitchingProtocols {
		return "ok"
	}
	return fmt.Sprint(status)
}

func (f *matrixFixture) runRoute(r routeRow) {
	t := f.t
	key := r.method + " " + r.path
	want := strings.Fields(r.want)
	for i, p := range f.p {
		p = f.withCredential(p, r.uses)
		var args []string
		for _, name := range strings.Fields(r.args) {
			args = append(args, f.value(name))
		}
		path := fillPath(r.path, args)
		body := valueRef.ReplaceAllStringFunc(r.body, func(m string) string { return f.value(m[1:]) })
		if r.query != "" {
			path += "?" + valueRef.ReplaceAllStringFunc(r.query, func(m string) string { return url.QueryEscape(f.value(m[1:])) })
		}
		probe := refusalProbes[key]
		var before string
		if probe != nil {
			before = asJSON(probe(f, args))
		}
		var status int
		var resp []byte
		if strings.HasPrefix(r.path, "/ws/") {
			status = f.dialStatus(p, path)
		} else {
			status, resp = f.call(p, r.method, path, body)
		}
		got := answer(status)
		if got != want[i] {
			t.Errorf("%s by %s: %s, want %s (%.300s)", key, p.name(), got, want[i], resp)
			continue
		}
		if probe != nil && got != "ok" {
			if after := asJSON(probe(f, args)); after != before {
				t.Errorf("%s by %s was refused (%s) but changed what it names:\nbefore %s\nafter  %s", key, p.name(), got, before, after)
			}
		}
		if r.audit != "" {
			f.checkRouteAudit(r, p, args[0], got)
		}
		if r.scoped && got == "ok" && (p.kind == pAgentOther || p.kind == pKeyLimited) {
			var page struct{ Items []struct{ Unit string } }
			if err := json.Unmarshal(resp, &page); err != nil {
				t.Fatalf("%s by %s: %v", key, p.name(), err)
			}
			for _, it := range page.Items {
				if it.Unit == "general" {
					t.Errorf("%s by %s shows a record of unit %s", key, p.name(), it.Unit)
				}
			}
		}
	}
}

// checkRouteAudit: an allowed read of a record by staff or an API key, and
// a refused one (404) by anyone, are in the audit log.
func (f *matrixFixture) checkRouteAudit(r routeRow, p *principal, object, got string) {
	read, denied, _ := strings.Cut(r.audit, " ")
	switch {
	case got == "ok" && (p.isStaff() || p.kind == pKey || p.kind == pKeyLimited):
		f.expectAudit(r.method+" "+r.path, p, read, object)
	case got == "404":
		f.expectAudit(r.method+" "+r.path, p, denied, object)
	}
}

func (f *matrixFixture) expectAudit(what string, p *principal, action, object string) {
	f.t.Helper()
	rows := auditQuery(f.t, f.n, f.admin, "action="+action+"&object="+object+"&actor="+p.id)
	if len(rows) == 0 {
		f.t.Errorf("%s by %s: no %s row for %s in the audit log", what, p.name(), action, object)
	}
}

// fillPath puts args in the parameters (:name, *) of an echo path.
func fillPath(path string, args []string) string {
	parts := strings.Split(path, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") || s == "*" {
			if len(args) == 0 {
				panic("no value for " + s + " in " + path)
			}
			parts[i], args = args[0], args[1:]
		}
	}
	return strings.Join(parts, "/")
}

func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// call makes one REST call as p, checked against openapi.json.
func (f *matrixFixture) call(p *principal, method, path, body string) (int, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.n.url+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	p.authorize(req, f.n)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	checkResponse(f.t, req, resp, b)
	return resp.StatusCode, b
}

// dialStatus opens a socket as p: 101 when it opened, else the refusal's
// status.
func (f *matrixFixture) dialStatus(p *principal, path string) int {
	url := wsURL(f.n, path)
	if p.token != "" && !p.cookie {
		url += "?token=" + p.token
	}
	status, _ := dialStatus(f.t, url, f.socketHeader(p))
	if status == 0 {
		return http.StatusSwitchingProtocols
	}
	return status
}

func (f *matrixFixture) runFrame(r frameRow) {
	t := f.t
	want := strings.Fields(r.want)
	for i, p := range f.p[pOwner : pAdmin+1] {
		chatID := ""
		if r.chat != "" {
			chatID = f.value(r.chat)
		}
		var before string
		if chatID != "" {
			before = asJSON(must(f.n.DB.Chat(f.ctx, chatID)))
		}
		got := f.sendFrame(p, r, chatID)
		if got != want[i] {
			t.Errorf("frame %s by %s: %s, want %s", r.typ, p.name(), got, want[i])
			continue
		}
		if chatID != "" && got != "ok" {
			if after := asJSON(must(f.n.DB.Chat(f.ctx, chatID))); after != before {
				t.Errorf("frame %s by %s was refused (%s) but changed the chat:\nbefore %s\nafter  %s", r.typ, p.name(), got, before, after)
			}
		}
		if r.audit != "" && p.isStaff() {
			viewed, denied, _ := strings.Cut(r.audit, " ")
			switch {
			case got == "ok" && p.kind != pAgent:
				f.expectAudit("frame "+r.typ, p, viewed, chatID)
			case got != "ok":
				f.expectAudit("frame "+r.typ, p, denied, chatID)
			}
		}
	}
}

// sendFrame sends one frame of row r on p's socket and returns ok or the
// error code. A frame without an ack is followed by a frame of an unknown
// type: frames of a connection are handled in order, so once that one is
// refused, the first one's error would have come.
func (f *matrixFixture) sendFrame(p *principal, r frameRow, chatID string) string {
	f.t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte("{"+r.fields+"}"), &m); err != nil {
		f.t.Fatalf("frame row %s: fields: %v", r.typ, err)
	}
	id := uuid.NewString()
	m["type"], m["client_id"] = r.typ, id
	if chatID != "" {
		m["chat_id"] = chatID
	}
	c := p.sock
	c.send(m)
	if framesWithoutAck[r.typ] {
		probe := uuid.NewString()
		c.send(map[string]any{"type": "matrix.probe", "client_id": probe})
		c.reply(probe, "error")
		for _, fr := range c.all() {
			if fr.str("type") == "error" && fr.str("ref") == id {
				return fr.str("code")
			}
		}
		return "ok"
	}
	fr, ok := c.waitReply(id, 10*time.Second)
	if !ok {
		f.t.Fatalf("frame %s by %s: no answer", r.typ, p.name())
	}
	if fr.str("type") == "ack" {
		return "ok"
	}
	return fr.str("code")
}
