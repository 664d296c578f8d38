package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

func TestWriteError(t *testing.T) {
	errHSM := errors.New("hsm timed out after 3 tries")
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantLogged bool
	}{
		{"ok/api_error_as_is", apierror.BadRequest("field %q is required", "key"), http.StatusBadRequest, "invalid_request", false},
		{"ok/wrapped_api_error", fmt.Errorf("decode: %w", apierror.TooLarge(10)), http.StatusRequestEntityTooLarge, "", false},
		{"fail/cause_logged", fmt.Errorf("sign: %w", errHSM), http.StatusInternalServerError, "internal_error", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged bytes.Buffer
			s := &pluginServer{desc: Descriptor{Name: "t", Version: "1"}, log: zerolog.New(&logged), tracker: freshTracker(t)}
			h := s.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				WriteError(w, r, tt.err)
			}))
			req := httptest.NewRequest(http.MethodPost, "/crypto/sign?k=v", strings.NewReader(`{"key":"c2VjcmV0"}`))
			req.Header.Set(apierror.RequestIDHeader, "req-7")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var body apierror.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != tt.wantStatus || (tt.wantCode != "" && body.Code != tt.wantCode) || body.RequestID != "req-7" {
				t.Fatalf("answer %d %+v, want %d %s with the request id", rec.Code, body, tt.wantStatus, tt.wantCode)
			}
			if strings.Contains(rec.Body.String(), "hsm") {
				t.Fatalf("the cause reached the client: %s", rec.Body)
			}
			if !tt.wantLogged {
				if logged.Len() != 0 {
					t.Fatalf("logged %s for a client error", logged.String())
				}
				return
			}
			var line map[string]any
			if err := json.Unmarshal(logged.Bytes(), &line); err != nil {
				t.Fatalf("log %q: %v", logged.String(), err)
			}
			if line["level"] != "error" || line["error"] != "sign: hsm timed out after 3 tries" || line["request_id"] != "req-7" ||
				line["path"] != "/crypto/sign" || line["method"] != http.MethodPost {
				t.Fatalf("log line %v", line)
			}
			if strings.Contains(logged.String(), "c2VjcmV0") || strings.Contains(logged.String(), "k=v") {
				t.Fatalf("request input logged: %s", logged.String())
			}
		})
	}
	// Outside the SDK's request context the answer is the same and
	// nothing panics.
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest(http.MethodGet, "/x", nil), errHSM)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
}
