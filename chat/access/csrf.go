package access

import (
	"crypto/hmac"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatd/chatd/chat"
)

// The console signs in with a cookie, which the browser attaches to every
// request to chatd, also to one another site's page makes. A change made
// with the cookie must therefore prove it comes from the console itself:
// its Origin (or Sec-Fetch-Site) must be chatd's own, and it must carry
// the CSRF token in a header. The token is in a cookie of its own that the
// console's script reads (double submit); another site can neither read it
// nor set the header on a cross-site request. It is derived from the
// session (Signer.CSRFToken), so a cookie planted by a sibling domain
// without the session is useless. Bearer tokens are not attached by
// browsers and need neither check.

// CSRFCookie holds the console's CSRF token; CSRFHeader carries it back.
const (
	CSRFCookie = "chatd_csrf"
	CSRFHeader = "X-CSRF-Token"
)

// CSRFToken is the CSRF token of a staff session.
func (a *Authenticator) CSRFToken(session string) string { return a.signer.CSRFToken(session) }

// CheckCSRF checks a request authenticated by the session cookie: a
// request that may change something (any method but GET, HEAD and
// OPTIONS) must come from chatd's own origin and carry the session's CSRF
// token in the X-CSRF-Token header.
func (a *Authenticator) CheckCSRF(r *http.Request, session string) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if !a.SameOrigin(r) {
		return chat.Errorf(chat.ECSRF, "a change with the session cookie must come from the console's own origin")
	}
	if !hmac.Equal([]byte(r.Header.Get(CSRFHeader)), []byte(a.signer.CSRFToken(session))) {
		return chat.Errorf(chat.ECSRF, "a change with the session cookie needs the %s header (the %s cookie's value)", CSRFHeader, CSRFCookie)
	}
	return nil
}

// SameOrigin reports whether a browser says r comes from a page of
// chatd's own origin. A request without Origin and Sec-Fetch-Site is not
// from a current browser's cross-site page and passes (the token check
// still applies to it).
func (a *Authenticator) SameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && u.Host != "" && strings.EqualFold(u.Host, a.host(r))
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// host is the host the client asked for: the Host header, or a trusted
// proxy's X-Forwarded-Host.
func (a *Authenticator) host(r *http.Request) string {
	if h := r.Header.Get("X-Forwarded-Host"); h != "" && a.fromProxy(r) {
		return strings.TrimSpace(strings.Split(h, ",")[0])
	}
	return r.Host
}

// SecureRequest reports whether r reached chatd over TLS: directly, or
// through a trusted proxy whose X-Forwarded-Proto says https. The
// session's cookies are then Secure. Anyone else's header is not believed.
func (a *Authenticator) SecureRequest(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	p := r.Header.Get("X-Forwarded-Proto")
	return p != "" && strings.EqualFold(strings.TrimSpace(strings.Split(p, ",")[0]), "https") && a.fromProxy(r)
}

func (a *Authenticator) fromProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range a.cfg.TrustedProxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// SessionCookies are the console's cookies for a session token: the
// session itself (HttpOnly: no script reads it) and the CSRF token (read
// by the console's script). Both SameSite=Strict, and Secure when the
// request came over TLS. An empty token gives the cookies that delete them.
func (a *Authenticator) SessionCookies(r *http.Request, token string) []*http.Cookie {
	secure := a.SecureRequest(r)
	maxAge := int(a.cfg.SessionTTL.Seconds())
	csrf := ""
	if token == "" {
		maxAge = -1
	} else {
		csrf = a.CSRFToken(token)
	}
	return []*http.Cookie{
		{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode, MaxAge: maxAge},
		{Name: CSRFCookie, Value: csrf, Path: "/", HttpOnly: false, Secure: secure, SameSite: http.SameSiteStrictMode, MaxAge: maxAge},
	}
}
