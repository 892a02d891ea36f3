// Package accounts serves who can sign in, over REST: visitor sign-up,
// staff login and logout, staff accounts (made and changed by admins, read
// by supervisors), integrators' API keys, and the audit log. The access
// policy decides every route; credential checks and the audit writer are
// chat/access's. A change to a staff account reaches live chat (the
// assigner's capacity, the account's open sockets) through the small Live
// interface.
package accounts
