// Package access decides who is asking and what they may do. It turns
// credentials (a visitor's signed token, a staff session, an integrator's
// API key) into a chat.Principal, checks staff passwords under the login
// throttle, writes the audit trail, and holds the one access policy: every
// socket frame and every REST route asks Allow (may this kind of principal
// do this at all?) and, for a chat or ticket, Chat or Ticket (may it do
// this to that one?). No handler decides on its own.
//
// The policy is unit-scoped: a visitor sees only their own chats and
// tickets; agents and supervisors those of their units (agents act only on
// chats assigned to them); admins everything; an API key every unit or the
// units it is limited to. Whatever a principal may not see is answered as
// not found, so ids cannot be probed.
//
// Credentials: a visitor token is signed (a forged one costs no lookup)
// and names a stored token of one device, which expires when unused for
// the token TTL and can be revoked; a site can vouch for its signed-in
// customers with an HMAC of their id (identity verification), which makes
// them one visitor on every device. The console's session cookie is
// HttpOnly, SameSite and Secure over TLS, and every change made with it
// must pass CheckCSRF (chatd's own origin and the session's CSRF token).
// Every login, failed login and refused look is written to the audit log
// (Auditor), whose rows the store chains.
//
// It knows nothing of sockets or of the web framework: the live-chat
// package, the ticket API and the store all use it.
package access
