package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	bodyFile := filepath.Join(dir, "body.json")
	if err := os.WriteFile(bodyFile, []byte(`{"x":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		check    func(t *testing.T, stdout string)
	}{
		{"ok/json", []string{"-url", srv.URL, "-n", "25", "-c", "5", "-json"}, 0, func(t *testing.T, out string) {
			var s Summary
			if err := json.Unmarshal([]byte(out), &s); err != nil {
				t.Fatal(err)
			}
			if s.Requests != 25 || s.Status["200"] != 25 || s.Concurrency != 5 || s.Method != "GET" {
				t.Fatalf("summary %+v", s)
			}
		}},
		{"ok/post-body-file", []string{"-url", srv.URL, "-method", "post", "-body-file", bodyFile, "-n", "5", "-json"}, 0, func(t *testing.T, out string) {
			if !strings.Contains(out, `"201": 5`) {
				t.Fatalf("output %s", out)
			}
		}},
		{"ok/text", []string{"-url", srv.URL, "-n", "3", "-header", "X-A: b", "-body", "{}", "-method", "POST"}, 0, func(t *testing.T, out string) {
			if !strings.Contains(out, "201:3") {
				t.Fatalf("output %s", out)
			}
		}},
		{"ok/duration", []string{"-url", srv.URL, "-duration", "20ms", "-c", "2"}, 0, nil},
		{"ok/help", []string{"-h"}, 0, nil},
		{"ok/request-errors-still-exit-0", []string{"-url", "http://127.0.0.1:1/", "-n", "2"}, 0, nil},
		{"fail/no-url", []string{"-n", "1"}, 2, nil},
		{"fail/bad-method", []string{"-url", srv.URL, "-method", "PUT"}, 2, nil},
		{"fail/body-and-body-file", []string{"-url", srv.URL, "-body", "x", "-body-file", bodyFile}, 2, nil},
		{"fail/missing-body-file", []string{"-url", srv.URL, "-body-file", filepath.Join(dir, "nope")}, 2, nil},
		{"fail/bad-header", []string{"-url", srv.URL, "-header", "no colon"}, 2, nil},
		{"fail/unknown-flag", []string{"-url", srv.URL, "-bogus"}, 2, nil},
		{"fail/extra-argument", []string{"-url", srv.URL, "extra"}, 2, nil},
		{"fail/cacert-missing", []string{"-url", srv.URL, "-cacert", filepath.Join(dir, "nope.pem")}, 2, nil},
		{"fail/cacert-not-pem", []string{"-url", srv.URL, "-cacert", notPEM}, 2, nil},
		{"fail/zero-concurrency", []string{"-url", srv.URL, "-c", "0"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			if tt.wantCode != 0 && stderr.Len() == 0 {
				t.Fatal("usage error without a message")
			}
			if tt.check != nil {
				tt.check(t, stdout.String())
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name, in, wantName, wantValue string
		wantErr                       bool
	}{
		{"ok/spaced", "X-Request-Id: abc", "X-Request-Id", "abc", false},
		{"ok/tight", "authorization:Bearer t", "Authorization", "Bearer t", false},
		{"ok/empty-value", "X-Empty:", "X-Empty", "", false},
		{"ok/colon-in-value", "X-Url: http://a:1", "X-Url", "http://a:1", false},
		{"fail/no-colon", "X-A", "", "", true},
		{"fail/empty-name", ": v", "", "", true},
		{"fail/space-in-name", "X A: v", "", "", true},
		{"fail/newline-in-value", "X-A: v\r\nX-B: w", "", "", true},
		{"fail/control-in-value", "X-A: v\x01", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, value, err := parseHeader(tt.in)
			if tt.wantErr {
				if !errors.Is(err, errHeader) {
					t.Fatalf("err = %v, want errHeader", err)
				}
				return
			}
			if err != nil || name != tt.wantName || value != tt.wantValue {
				t.Fatalf("parseHeader(%q) = %q, %q, %v", tt.in, name, value, err)
			}
		})
	}
}

// FuzzParseHeader checks that whatever parseHeader accepts is a header
// net/http will send unchanged.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"X-A: b", "a:b", ":", "", "X\x00: y", "K: v\r\n", "é: v", "Content-Type: application/json"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, value, err := parseHeader(s)
		if err != nil {
			if !errors.Is(err, errHeader) {
				t.Fatalf("error %v does not wrap errHeader", err)
			}
			return
		}
		// An accepted header goes over the wire and comes back as it was
		// (net/http refuses to write an invalid name or value).
		req, err := http.NewRequest(http.MethodGet, "http://example.invalid/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(name, value)
		var wire bytes.Buffer
		if err := req.Write(&wire); err != nil {
			t.Fatalf("accepted %q as %q: %q, which HTTP cannot carry: %v", s, name, value, err)
		}
		back, err := http.ReadRequest(bufio.NewReader(&wire))
		if err != nil {
			t.Fatalf("accepted %q as %q: %q, which does not parse back: %v", s, name, value, err)
		}
		if got := back.Header.Get(name); got != value {
			t.Fatalf("header %q: sent %q, received %q", name, value, got)
		}
	})
}
