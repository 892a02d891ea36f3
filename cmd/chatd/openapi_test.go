package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/chatd/chatd/cmd/internal/server"
)

// The OpenAPI document, loaded and validated once, and a router over it.
var openAPI = sync.OnceValues(func() (routers.Router, error) {
	// A printable transcript is text, as the validator reads text/plain.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(server.OpenAPI())
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	doc.Servers = nil // match any host: the tests' nodes listen on random ports
	return gorillamux.NewRouter(doc)
})

// checkResponse validates one real answer of the API against
// openapi.json: its path and method are described, and its status, content
// type and body match what the document says. Every REST call of the
// end-to-end tests goes through it (api does).
func checkResponse(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return
	}
	router, err := openAPI()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	r := req.Clone(context.Background())
	r.Body = http.NoBody
	route, params, err := router.FindRoute(r)
	if err != nil {
		// A method the server has no route for is refused by the router
		// itself (405 with the JSON error body), before any handler.
		if resp.StatusCode == http.StatusMethodNotAllowed {
			return
		}
		t.Errorf("%s %s is not described in openapi.json: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d, which openapi.json does not describe: %v\nbody: %.600s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
}

// TestOpenAPIValidatorFails: the check above really refuses an answer the
// document does not describe.
func TestOpenAPIValidatorFails(t *testing.T) {
	router, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://x/api/v1/tickets/abc", nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"id": 5}`, `{"id":"a","unit":"general","status":"archived","subject":"s","priority":0,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","text":"","from":{"kind":"visitor","id":"","name":""},"replies":[],"events":[]}`} {
		err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
		})
		if err == nil {
			t.Errorf("a ticket %s passed", body)
		}
	}
}
