package plugintest

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/aunsorm/aunsorm/sdk/plugin"
)

func TestCheckDescriptor(t *testing.T) {
	good := plugin.Descriptor{Name: "aunsorm-echo", Kind: "echo", Version: "1.0.0", Routes: []string{"/echo/", "/echo-v2/"},
		Capabilities: []string{"echo:json"}, HostServices: []string{plugin.ServiceAudit}}
	tests := []struct {
		name    string
		edit    func(d *plugin.Descriptor)
		wantErr bool
	}{
		{"ok/full", func(*plugin.Descriptor) {}, false},
		{"ok/no_routes", func(d *plugin.Descriptor) { d.Routes = nil }, false},
		{"fail/name", func(d *plugin.Descriptor) { d.Name = "" }, true},
		{"fail/version", func(d *plugin.Descriptor) { d.Version = "" }, true},
		{"fail/kind", func(d *plugin.Descriptor) { d.Kind = "crypto" }, true},
		{"fail/route_no_slash", func(d *plugin.Descriptor) { d.Routes = []string{"/echo"} }, true},
		{"fail/route_root", func(d *plugin.Descriptor) { d.Routes = []string{"/"} }, true},
		{"fail/route_double_slash", func(d *plugin.Descriptor) { d.Routes = []string{"/a//b/"} }, true},
		{"fail/route_pattern", func(d *plugin.Descriptor) { d.Routes = []string{"/a/{id}/"} }, true},
		{"fail/route_twice", func(d *plugin.Descriptor) { d.Routes = []string{"/a/", "/a/"} }, true},
		{"fail/service", func(d *plugin.Descriptor) { d.HostServices = []string{"filesystem"} }, true},
		{"fail/capability", func(d *plugin.Descriptor) { d.Capabilities = []string{" "} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := good
			tt.edit(&d)
			err := checkDescriptor(d, "echo")
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrNonconformant)) {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestCheckHealth(t *testing.T) {
	const ok = `{"status":"ok","plugin":"p","clock":{"status":"ok"},"rng":{"status":"ok"}}`
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr bool
	}{
		{"ok/healthy", 200, ok, false},
		{"fail/status_code", 503, ok, true},
		{"fail/stale", 200, `{"status":"ok","clock":{"status":"stale"},"rng":{"status":"ok"}}`, true},
		{"fail/rng", 200, `{"status":"ok","clock":{"status":"ok"},"rng":{"status":"failing"}}`, true},
		{"fail/not_json", 200, `ok`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkHealth(tt.status, []byte(tt.body)); (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestCheckErrorShape(t *testing.T) {
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name         string
		status       int
		hdr          http.Header
		body         string
		code         string
		allowProblem bool
		wantErr      bool
	}{
		{"ok/shape", 404, jsonHdr, `{"error":"not_found","error_description":"x","request_id":"r1"}`, "", false, false},
		{"ok/code", 404, jsonHdr, `{"error":"not_found","error_description":"","request_id":"r1"}` + "\n", "not_found", false, false},
		{"ok/charset", 404, http.Header{"Content-Type": {"application/json; charset=utf-8"}}, `{"error":"e","error_description":"x","request_id":"r1"}`, "", false, false},
		{"ok/problem", 404, http.Header{"Content-Type": {"application/problem+json"}}, `{"type":"urn:ietf:params:acme:error:malformed","status":404}`, "", true, false},
		{"fail/status", 200, jsonHdr, `{"error":"not_found","error_description":"x","request_id":"r1"}`, "", false, true},
		{"fail/text", 404, http.Header{"Content-Type": {"text/plain"}}, "404 page not found", "", false, true},
		{"fail/no_content_type", 404, http.Header{}, `{}`, "", false, true},
		{"fail/problem_not_allowed", 404, http.Header{"Content-Type": {"application/problem+json"}}, `{"type":"x"}`, "", false, true},
		{"fail/problem_no_type", 404, http.Header{"Content-Type": {"application/problem+json"}}, `{"status":404}`, "", true, true},
		{"fail/extra_field", 404, jsonHdr, `{"error":"e","error_description":"x","request_id":"r1","stack":"..."}`, "", false, true},
		{"fail/missing_description", 404, jsonHdr, `{"error":"e","request_id":"r1"}`, "", false, true},
		{"fail/empty_code", 404, jsonHdr, `{"error":"","error_description":"x","request_id":"r1"}`, "", false, true},
		{"fail/wrong_code", 503, jsonHdr, `{"error":"unavailable","error_description":"x","request_id":"r1"}`, "stale_attestation", false, true},
		{"fail/request_id", 404, jsonHdr, `{"error":"e","error_description":"x","request_id":"other"}`, "", false, true},
		{"fail/no_request_id", 404, jsonHdr, `{"error":"e","error_description":"x"}`, "", false, true},
		{"fail/two_values", 404, jsonHdr, `{"error":"e","error_description":"x","request_id":"r1"} {}`, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := 404
			if tt.code != "" && tt.status == 503 {
				want = 503
			}
			err := checkErrorShape(tt.status, tt.hdr, []byte(tt.body), want, tt.code, "r1", tt.allowProblem)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestWithUnknownAttribute(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		wantLine int
	}{
		{"ok/empty", "", 1},
		{"ok/one_line", `greeting = "hi"`, 2},
		{"ok/trailing_blank_lines", "a = 1\nb = 2\n\n\n", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, line := withUnknownAttribute(tt.config)
			if line != tt.wantLine {
				t.Fatalf("line %d, want %d in %q", line, tt.wantLine, cfg)
			}
			// The attribute really is on that line.
			err := plugin.NewConfig([]byte(cfg), ConfigFilename, hcl.Pos{}).Decode(&struct{}{})
			if checkDiagnostics(err, line) != nil {
				t.Fatalf("%v", err)
			}
		})
	}
}

func TestCheckDiagnostics(t *testing.T) {
	at := func(file string, line int) error {
		r := hcl.Range{Filename: file, Start: hcl.Pos{Line: line, Column: 1}}
		return fmt.Errorf("%w: %w", plugin.ErrConfig, &plugin.ConfigError{Diagnostics: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "s", Subject: &r}}})
	}
	tests := []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"ok/positioned", at(ConfigFilename, 3), false},
		{"fail/accepted", nil, true},
		{"fail/not_config_error", errors.New("boom"), true},
		{"fail/wrong_line", at(ConfigFilename, 1), true},
		{"fail/wrong_file", at("other.hcl", 3), true},
		{"fail/no_position", &plugin.ConfigError{Diagnostics: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "s"}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkDiagnostics(tt.err, 3); (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
