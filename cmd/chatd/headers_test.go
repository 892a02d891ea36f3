package main

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityHeaders: the pages carry their Content-Security-Policy (no
// inline script; the console framed by nobody, the widget frame only by
// CHAT_ALLOWED_ORIGINS), the printable transcript runs and loads nothing
// and allows its one style by hash, and every answer (API errors
// included) has nosniff.
func TestSecurityHeaders(t *testing.T) {
	n := startNode(t, clusterVars(t, "CHAT_ALLOWED_ORIGINS", "https://shop.example.com,https://other.example.org/"))
	get := func(path, token string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", n.url+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	directive := func(csp, name string) string {
		for _, d := range strings.Split(csp, ";") {
			if f := strings.Fields(d); len(f) > 0 && f[0] == name {
				return strings.Join(f[1:], " ")
			}
		}
		return "(missing)"
	}
	for _, page := range []struct{ path, ancestors string }{
		{"/", "'self'"},
		{"/console", "'none'"},
		{"/widget", "'self' https://shop.example.com https://other.example.org"},
	} {
		resp, _ := get(page.path, "")
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if resp.StatusCode != 200 || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("%s: %d %v", page.path, resp.StatusCode, h)
		}
		if got := directive(csp, "frame-ancestors"); got != page.ancestors {
			t.Errorf("%s: frame-ancestors %q, want %q", page.path, got, page.ancestors)
		}
		if s := directive(csp, "script-src"); s != "'self'" || strings.Contains(csp, "unsafe-inline") || directive(csp, "default-src") != "'none'" {
			t.Errorf("%s: CSP %q", page.path, csp)
		}
	}
	if resp, _ := get("/console", ""); resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("/console: X-Frame-Options %q", resp.Header.Get("X-Frame-Options"))
	}

	// The printable transcript.
	v, tok := newVisitor(t, n)
	chatID := startChat(t, v, "general", "<style>body{display:none}</style> merhaba")
	resp, body := get("/api/v1/transcripts/"+chatID+"?format=html", tok)
	h := resp.Header
	csp := h.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("html transcript: %d %v", resp.StatusCode, h)
	}
	if directive(csp, "default-src") != "'none'" || directive(csp, "frame-ancestors") != "'none'" || directive(csp, "script-src") != "(missing)" ||
		strings.Contains(csp, "unsafe-inline") {
		t.Errorf("html transcript CSP %q", csp)
	}
	// The one style block the page has is the one the policy allows.
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(body, -1)
	if len(styles) != 1 {
		t.Fatalf("html transcript has %d style blocks (the customer's text must be escaped): %s", len(styles), body)
	}
	sum := sha256.Sum256([]byte(styles[0][1]))
	if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; directive(csp, "style-src") != want {
		t.Errorf("style-src %q, the page's style hashes to %s", directive(csp, "style-src"), want)
	}

	// API answers, successes and errors, and an unknown path.
	for _, path := range []string{"/api/v1/units", "/api/v1/tickets", "/api/v1/transcripts/" + chatID + "?format=json", "/api/v1/no-such-route", "/healthz"} {
		resp, _ := get(path, "")
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s (%d): no nosniff", path, resp.StatusCode)
		}
		if strings.HasPrefix(path, "/api/") && resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s (%d): Referrer-Policy %q", path, resp.StatusCode, resp.Header.Get("Referrer-Policy"))
		}
	}
}
