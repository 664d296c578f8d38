package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIDocument checks the document served at /pqc/openapi.json is
// valid OpenAPI and describes every route of the table.
func TestOpenAPIDocument(t *testing.T) {
	s := newTestServer(t, config{}, nil)
	status, body := call(t, s.Handler(), http.MethodGet, "/pqc/openapi.json", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /pqc/openapi.json: %d %s", status, body)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
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
	if doc.Paths.Find("/pqc/slh-dsa/sign").Post.Responses.Status(http.StatusServiceUnavailable) == nil {
		t.Fatal("POST /pqc/slh-dsa/sign does not document its 503")
	}
}
