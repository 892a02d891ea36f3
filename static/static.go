// Package static serves the web pages: the customer's widget (its loader
// /widget.js and the iframe document /widget), the agent console and the
// demo shop at /. The assets are embedded in the binary, compressed once at
// start, and served with content types, ETags and the security headers each
// page needs (a Content-Security-Policy without inline scripts, and
// frame-ancestors that let only the allowed origins embed the widget).
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed index.html console.html widget.html widget.js css js img
var assets embed.FS

// Config says who may embed the widget.
type Config struct {
	// AllowedOrigins may embed the widget frame (besides the server's own
	// origin); "*" lets any site embed it. The console is never framed.
	AllowedOrigins []string
}

// asset is one file, ready to serve.
type asset struct {
	body, gz []byte
	ctype    string
	etag     string
}

// page kinds decide the security headers.
const (
	kindAsset   = iota // scripts, styles, images
	kindDemo           // the demo shop at /
	kindWidget         // the widget's iframe document
	kindConsole        // the agent console
)

// Register mounts /, /widget.js, /widget, /console and /static/*.
func Register(e *echo.Echo, cfg Config) {
	files := load()
	ancestors := "'self'"
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			ancestors = "*"
			break
		}
		ancestors += " " + strings.TrimRight(o, "/")
	}
	serve := func(name string, kind int, cache string) echo.HandlerFunc {
		a, ok := files[name]
		if !ok {
			panic("static: no asset " + name)
		}
		return func(c echo.Context) error { return a.write(c, kind, cache, ancestors) }
	}
	e.GET("/", serve("index.html", kindDemo, "no-cache"))
	e.GET("/console", serve("console.html", kindConsole, "no-cache"))
	e.GET("/widget", serve("widget.html", kindWidget, "no-cache"))
	// The loader is fetched by every page view of every embedding site: a
	// short lifetime, then a cheap revalidation.
	e.GET("/widget.js", serve("widget.js", kindAsset, "public, max-age=300"))
	e.GET("/static/*", func(c echo.Context) error {
		name := path.Clean("/" + c.Param("*"))[1:]
		a, ok := files[name]
		if !ok || !(strings.HasPrefix(name, "js/") || strings.HasPrefix(name, "css/") || strings.HasPrefix(name, "img/")) {
			return echo.NewHTTPError(http.StatusNotFound, "no such file")
		}
		return a.write(c, kindAsset, "no-cache", ancestors)
	})
}

// load reads every embedded file once, with its gzip form and ETag.
func load() map[string]*asset {
	out := map[string]*asset{}
	err := fs.WalkDir(assets, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, ctype: contentType(p), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		if compressible(a.ctype) {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			_, _ = zw.Write(body)
			_ = zw.Close()
			if b.Len() < len(body) {
				a.gz = b.Bytes()
			}
		}
		out[p] = a
		return nil
	})
	if err != nil {
		panic("static: " + err.Error())
	}
	return out
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "image/svg") || strings.HasPrefix(ctype, "application/json")
}

// csp is the Content-Security-Policy of a page: scripts, styles and images
// only from this origin, sockets only to it, no inline script anywhere.
func csp(c echo.Context, frameAncestors string) string {
	host := c.Request().Host
	ws := "ws://" + host + " wss://" + host
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; " +
		"connect-src 'self' " + ws + "; media-src 'self' data: blob:; frame-src 'self'; form-action 'self'; base-uri 'none'; " +
		"object-src 'none'; frame-ancestors " + frameAncestors
}

func (a *asset) write(c echo.Context, kind int, cache, ancestors string) error {
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Cache-Control", cache)
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	switch kind {
	case kindAsset:
		// Embedding sites load the loader script from their own pages.
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	case kindDemo:
		h.Set("Content-Security-Policy", csp(c, "'self'"))
		h.Set("X-Frame-Options", "SAMEORIGIN")
	case kindWidget:
		h.Set("Content-Security-Policy", csp(c, ancestors))
	case kindConsole:
		h.Set("Content-Security-Policy", csp(c, "'none'"))
		h.Set("X-Frame-Options", "DENY")
	}
	if kind != kindAsset {
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	}
	if match := c.Request().Header.Get("If-None-Match"); match != "" && etagMatch(match, a.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := a.body
	if a.gz != nil && acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	if c.Request().Method == http.MethodHead {
		h.Set("Content-Type", a.ctype)
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, a.ctype, body)
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return !strings.Contains(strings.ReplaceAll(q, " ", ""), "q=0") || strings.Contains(q, "q=0.")
		}
	}
	return false
}
