package main

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIDocument checks the document served at /crypto/openapi.json is
// valid OpenAPI and describes every route of the table.
func TestOpenAPIDocument(t *testing.T) {
	s := newServer(rand.Reader)
	rec := serve(s.Handler(), http.MethodGet, "/crypto/openapi.json", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /crypto/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid document: %v", err)
	}
	for _, rt := range s.table().Routes {
		item := doc.Paths.Find(rt.Path())
		if item == nil || item.GetOperation(rt.Method()) == nil {
			t.Fatalf("%s %s is not in the document", rt.Method(), rt.Path())
		}
	}
	enc := doc.Paths.Find("/crypto/encrypt").Post
	if enc.Responses.Status(400) == nil || !strings.Contains(*enc.Responses.Status(400).Value.Description, codeUnsupportedAlgorithm) {
		t.Fatal("POST /crypto/encrypt does not document unsupported_algorithm")
	}
	random := doc.Paths.Find("/crypto/random").Get
	if len(random.Parameters) != 1 || random.Parameters[0].Value.Name != "bytes" || !random.Parameters[0].Value.Required {
		t.Fatalf("GET /crypto/random parameters: %+v", random.Parameters)
	}
}
