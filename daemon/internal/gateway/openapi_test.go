package gateway

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIWithoutPlugins: the merged document is served, valid and
// empty with no plugin running, and does not depend on the clock (it is
// served while the attestation is stale).
func TestOpenAPIWithoutPlugins(t *testing.T) {
	tests := []struct {
		name string
		opts chainOpts
	}{
		{"ok/fresh-clock", chainOpts{}},
		{"ok/stale-clock", chainOpts{snapAge: time.Hour}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := newChain(t, tc.opts)
			rec := serve(g, http.MethodGet, DocumentPath, nil)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("GET %s: %d %s %s", DocumentPath, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if err := doc.Validate(context.Background()); err != nil {
				t.Fatalf("invalid document: %v", err)
			}
			if doc.OpenAPI != "3.1.0" || doc.Paths.Len() != 0 {
				t.Fatalf("openapi %s with %d paths", doc.OpenAPI, doc.Paths.Len())
			}
			if head := serve(g, http.MethodHead, DocumentPath, nil); head.Code != http.StatusOK {
				t.Fatalf("HEAD: %d", head.Code)
			}
			if post := serve(g, http.MethodPost, DocumentPath, nil); post.Code != http.StatusMethodNotAllowed {
				t.Fatalf("POST: %d", post.Code)
			}
		})
	}
}
