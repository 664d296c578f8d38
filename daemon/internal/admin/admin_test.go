package admin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/audit"
	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// fakeController records calls and answers from fields.
type fakeController struct {
	mu        sync.Mutex
	plugins   []supervisor.Info
	changes   []supervisor.PluginChange
	reloadErr error
	known     map[string]bool
	reloaded  []string
	config    map[string]any
	filters   []audit.Filter
}

func (f *fakeController) Plugins() []supervisor.Info { return f.plugins }

func (f *fakeController) AuditRecords(_ context.Context, flt audit.Filter) (AuditPage, error) {
	f.mu.Lock()
	f.filters = append(f.filters, flt)
	f.mu.Unlock()
	var recs []AuditRecord
	for seq := flt.After + 1; seq <= 3 && len(recs) < flt.Limit; seq++ {
		recs = append(recs, AuditRecord{Seq: seq, Action: "plugin.start"})
	}
	return AuditPage{Records: recs, Verified: 3, ChainOK: true, NextAfter: 3}, nil
}

func (f *fakeController) AuditVerify(context.Context) (AuditVerification, error) {
	return AuditVerification{Verified: 2, FirstBad: 3, Error: "audit: chain broken at seq 3: hash does not match contents"}, nil
}

// fakeNow is the fake controller's attested time.
var fakeNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func (f *fakeController) Now() time.Time { return fakeNow }

func (f *fakeController) Reload(context.Context) ([]supervisor.PluginChange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reloaded = append(f.reloaded, "*")
	return f.changes, f.reloadErr
}

func (f *fakeController) ReloadPlugin(_ context.Context, name string) (supervisor.PluginChange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.known[name] {
		return supervisor.PluginChange{Name: name}, fmt.Errorf("%w: %q", supervisor.ErrUnknownPlugin, name)
	}
	f.reloaded = append(f.reloaded, name)
	if f.reloadErr != nil {
		return supervisor.PluginChange{Name: name, Action: "rolled_back", Error: f.reloadErr.Error()}, f.reloadErr
	}
	return supervisor.PluginChange{Name: name, Action: "swapped", OldVersion: "1", NewVersion: "2"}, nil
}

func (f *fakeController) EffectiveConfig() map[string]any { return f.config }

var _ Controller = (*fakeController)(nil)

func newFake(reloadErr error) *fakeController {
	return &fakeController{
		plugins: []supervisor.Info{{Name: "crypto", Kind: "crypto", Version: "1.2.3", Status: supervisor.StatusRunning,
			PID: 42, Listen: "127.0.0.1:50011", Routes: []string{"/crypto/"}}},
		changes:   []supervisor.PluginChange{{Name: "crypto", Action: "swapped", OldVersion: "1", NewVersion: "2"}},
		reloadErr: reloadErr,
		known:     map[string]bool{"crypto": true},
		config:    map[string]any{"data_dir": "/var/lib/aunsorm", "admin": map[string]any{"token_file": "<redacted>"}},
	}
}

// call serves one request and decodes the JSON body.
func call(t *testing.T, h http.Handler, method, path string, header http.Header) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: content type %q", method, path, ct)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s %s: body %q: %v", method, path, rec.Body, err)
	}
	return rec, body
}

func TestRoutes(t *testing.T) {
	conflict := errors.New("supervisor: route conflict: route /x/ is claimed twice")
	tests := []struct {
		name         string
		reloadErr    error
		method, path string
		status       int
		check        func(t *testing.T, body map[string]any, f *fakeController)
	}{
		{"ok/list", nil, http.MethodGet, "/v1/plugins", 200, func(t *testing.T, b map[string]any, _ *fakeController) {
			ps, _ := b["plugins"].([]any)
			if len(ps) != 1 {
				t.Fatalf("plugins %v", b)
			}
			p := ps[0].(map[string]any)
			if p["name"] != "crypto" || p["pid"] != float64(42) || p["listener"] != "127.0.0.1:50011" || p["status"] != "running" {
				t.Fatalf("plugin %v", p)
			}
		}},
		{"ok/reload", nil, http.MethodPost, "/v1/reload", 200, func(t *testing.T, b map[string]any, f *fakeController) {
			ch, _ := b["changes"].([]any)
			if len(ch) != 1 || ch[0].(map[string]any)["action"] != "swapped" || b["error"] != nil {
				t.Fatalf("body %v", b)
			}
			if len(f.reloaded) != 1 {
				t.Fatalf("Reload called %d times", len(f.reloaded))
			}
		}},
		{"fail/reload-conflict", conflict, http.MethodPost, "/v1/reload", 409, func(t *testing.T, b map[string]any, _ *fakeController) {
			ch, _ := b["changes"].([]any)
			if len(ch) != 1 || b["error"] != "reload_failed" || b["error_description"] != conflict.Error() {
				t.Fatalf("body %v", b)
			}
		}},
		{"ok/reload-plugin", nil, http.MethodPost, "/v1/plugins/crypto/reload", 200, func(t *testing.T, b map[string]any, f *fakeController) {
			ch, _ := b["changes"].([]any)
			if len(ch) != 1 || ch[0].(map[string]any)["new_version"] != "2" || len(f.reloaded) != 1 || f.reloaded[0] != "crypto" {
				t.Fatalf("body %v, reloaded %v", b, f.reloaded)
			}
		}},
		{"fail/reload-plugin-rolled-back", conflict, http.MethodPost, "/v1/plugins/crypto/reload", 409, func(t *testing.T, b map[string]any, _ *fakeController) {
			ch, _ := b["changes"].([]any)
			if len(ch) != 1 || ch[0].(map[string]any)["action"] != "rolled_back" || b["error"] != "reload_failed" || b["error_description"] == "" {
				t.Fatalf("body %v", b)
			}
		}},
		{"fail/reload-unknown-plugin", nil, http.MethodPost, "/v1/plugins/nobody/reload", 404, func(t *testing.T, b map[string]any, f *fakeController) {
			if b["error"] != "not_found" || !strings.Contains(b["error_description"].(string), "nobody") || len(f.reloaded) != 0 {
				t.Fatalf("body %v", b)
			}
		}},
		{"ok/config", nil, http.MethodGet, "/v1/config", 200, func(t *testing.T, b map[string]any, _ *fakeController) {
			if b["data_dir"] != "/var/lib/aunsorm" || b["admin"].(map[string]any)["token_file"] != "<redacted>" {
				t.Fatalf("config %v", b)
			}
		}},
		{"ok/runtime", nil, http.MethodGet, "/v1/runtime", 200, func(t *testing.T, b map[string]any, _ *fakeController) {
			if g, _ := b["goroutines"].(float64); g < 1 {
				t.Fatalf("runtime %v", b)
			}
			if b["pid"] != float64(os.Getpid()) {
				t.Fatalf("pid %v, want %d", b["pid"], os.Getpid())
			}
			if fds, _ := b["open_fds"].(float64); fds == 0 {
				t.Fatalf("open_fds %v", b["open_fds"])
			}
		}},
		{"fail/unknown-route", nil, http.MethodGet, "/v1/nope", 404, func(t *testing.T, b map[string]any, _ *fakeController) {
			if b["error"] != "not_found" || b["error_description"] != apierror.NoEndpoint().Description {
				t.Fatalf("body %v is not the platform's one 404", b)
			}
		}},
		{"fail/non-canonical-is-no-route", nil, http.MethodGet, "//v1/plugins", 404, nil},
		{"fail/dot-dot-is-no-route", nil, http.MethodGet, "/v1/x/../plugins", 404, nil},
		{"fail/root", nil, http.MethodGet, "/", 404, nil},
		{"fail/trailing-slash", nil, http.MethodGet, "/v1/plugins/", 404, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(tc.reloadErr)
			h := New(f, zerolog.Nop()).h
			rec, body := call(t, h, tc.method, tc.path, http.Header{apierror.RequestIDHeader: {"req-1"}})
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if rec.Code >= 400 && body["error"] == nil {
				t.Fatalf("error response without the JSON error shape: %v", body)
			}
			if rec.Code == 404 || rec.Code == 405 {
				if body["request_id"] != "req-1" {
					t.Fatalf("request_id %v", body["request_id"])
				}
			}
			if tc.check != nil {
				tc.check(t, body, f)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	tests := []struct {
		name, method, path, allow string
	}{
		{"fail/delete-plugins", http.MethodDelete, "/v1/plugins", "GET"},
		{"fail/post-config", http.MethodPost, "/v1/config", "GET"},
		{"fail/put-runtime", http.MethodPut, "/v1/runtime", "GET"},
		{"fail/get-reload", http.MethodGet, "/v1/reload", "POST"},
		{"fail/get-plugin-reload", http.MethodGet, "/v1/plugins/crypto/reload", "POST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(nil)
			rec, body := call(t, New(f, zerolog.Nop()).h, tc.method, tc.path, nil)
			if rec.Code != http.StatusMethodNotAllowed || body["error"] != "method_not_allowed" {
				t.Fatalf("status %d body %v, want 405 method_not_allowed", rec.Code, body)
			}
			if rec.Header().Get("Allow") != tc.allow || !strings.HasSuffix(body["error_description"].(string), "allowed: "+tc.allow) {
				t.Fatalf("Allow %q, description %q; want both to name %s", rec.Header().Get("Allow"), body["error_description"], tc.allow)
			}
			if len(f.reloaded) != 0 {
				t.Fatal("a wrong-method request reached the controller")
			}
		})
	}
}

func TestTokenHandler(t *testing.T) {
	secret := []byte("s3cret-admin-token")
	tests := []struct {
		name   string
		token  []byte
		auth   []string
		status int
	}{
		{"ok/right-token", secret, []string{"Bearer s3cret-admin-token"}, 200},
		{"fail/missing", secret, nil, 401},
		{"fail/empty-header", secret, []string{""}, 401},
		{"fail/wrong-token", secret, []string{"Bearer wrong"}, 401},
		{"fail/prefix-of-token", secret, []string{"Bearer s3cret"}, 401},
		{"fail/token-plus-suffix", secret, []string{"Bearer s3cret-admin-tokenX"}, 401},
		{"fail/basic-scheme", secret, []string{"Basic s3cret-admin-token"}, 401},
		{"fail/lowercase-scheme", secret, []string{"bearer s3cret-admin-token"}, 401},
		{"fail/no-space", secret, []string{"Bearers3cret-admin-token"}, 401},
		{"fail/bare-token", secret, []string{"s3cret-admin-token"}, 401},
		{"fail/empty-configured-token", nil, []string{"Bearer "}, 401},
		{"fail/empty-configured-token-empty-header", []byte{}, nil, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(nil)
			h := New(f, zerolog.Nop()).TokenHandler(tc.token)
			hdr := http.Header{}
			for _, a := range tc.auth {
				hdr.Add("Authorization", a)
			}
			rec, body := call(t, h, http.MethodPost, "/v1/reload", hdr)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status == 200 {
				if len(f.reloaded) != 1 {
					t.Fatal("the authorised request did not reach the API")
				}
				return
			}
			if len(f.reloaded) != 0 {
				t.Fatal("an unauthorised request reached the controller")
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
				t.Fatalf("WWW-Authenticate %q", got)
			}
			if body["error"] != "unauthorized" {
				t.Fatalf("body %v", body)
			}
			if strings.Contains(rec.Body.String(), string(secret)) {
				t.Fatal("the response echoes the token")
			}
		})
	}
}

// TestTokenCompareIsConstantTime checks the source: the bearer token is
// compared with crypto/subtle, never with == or bytes.Equal.
func TestTokenCompareIsConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "admin.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var fn *ast.FuncDecl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "TokenHandler" {
			fn = fd
		}
	}
	if fn == nil {
		t.Fatal("TokenHandler not found in admin.go")
	}
	constantTime := false
	ast.Inspect(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok {
				switch {
				case x.Name == "subtle" && n.Sel.Name == "ConstantTimeCompare":
					constantTime = true
				case x.Name == "bytes" && n.Sel.Name == "Equal", x.Name == "strings" && n.Sel.Name == "EqualFold":
					t.Errorf("%s: token compared with %s.%s", fset.Position(n.Pos()), x.Name, n.Sel.Name)
				}
			}
		case *ast.BinaryExpr:
			if n.Op == token.EQL || n.Op == token.NEQ {
				for _, side := range []ast.Expr{n.X, n.Y} {
					if id, ok := side.(*ast.Ident); ok && (id.Name == "got" || id.Name == "token") {
						t.Errorf("%s: token compared with %s", fset.Position(n.Pos()), n.Op)
					}
				}
			}
		}
		return true
	})
	if !constantTime {
		t.Fatal("TokenHandler does not use subtle.ConstantTimeCompare")
	}
}

// shortDir returns a directory short enough for a unix socket path.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "adm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestListenUnix(t *testing.T) {
	t.Run("ok/new-socket-0600", func(t *testing.T) {
		path := filepath.Join(shortDir(t), "admin.sock")
		ln, err := ListenUnix(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		st, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
			t.Fatalf("socket mode %v, want a 0600 socket", st.Mode())
		}
	})
	t.Run("ok/replaces-stale-socket", func(t *testing.T) {
		path := filepath.Join(shortDir(t), "admin.sock")
		old, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		old.(*net.UnixListener).SetUnlinkOnClose(false)
		old.Close() // a killed daemon leaves the file behind
		if _, err := os.Lstat(path); err != nil {
			t.Fatalf("stale socket file not left behind: %v", err)
		}
		ln, err := ListenUnix(path)
		if err != nil {
			t.Fatalf("stale socket not replaced: %v", err)
		}
		defer ln.Close()
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	t.Run("fail/regular-file", func(t *testing.T) {
		path := filepath.Join(shortDir(t), "admin.sock")
		if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ListenUnix(path); err == nil || !strings.HasPrefix(err.Error(), "admin: ") {
			t.Fatalf("err = %v, want an admin: error", err)
		}
		if data, err := os.ReadFile(path); err != nil || string(data) != "keep me" {
			t.Fatal("the regular file was touched")
		}
	})
	t.Run("fail/socket-in-use", func(t *testing.T) {
		path := filepath.Join(shortDir(t), "admin.sock")
		live, err := ListenUnix(path)
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		go func() {
			for {
				c, err := live.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		if _, err := ListenUnix(path); err == nil || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("err = %v, want in use", err)
		}
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("the live daemon's socket was removed: %v", err)
		}
		c.Close()
	})
	t.Run("fail/missing-directory", func(t *testing.T) {
		if _, err := ListenUnix(filepath.Join(shortDir(t), "no", "admin.sock")); err == nil {
			t.Fatal("listened in a missing directory")
		}
	})
}

func TestServe(t *testing.T) {
	path := filepath.Join(shortDir(t), "admin.sock")
	ln, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, New(newFake(nil), zerolog.Nop()).TokenHandler([]byte("0123456789abcdef")))
	}()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
	req, _ := http.NewRequest(http.MethodGet, "http://admin/v1/plugins", nil)
	req.Header.Set("Authorization", "Bearer 0123456789abcdef")
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	client.CloseIdleConnections()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v after cancel, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestAuditPage(t *testing.T) {
	h := New(newFake(nil), zerolog.Nop()).h
	tests := []struct {
		name, query string
		status      int
		records     int
	}{
		{"ok/all", "", 200, 3},
		{"ok/after-and-limit", "?after=1&limit=1", 200, 1},
		{"ok/filters", "?source=daemon&action=plugin.*&since=2030-01-01T00:00:00Z&until=1h", 200, 3},
		{"fail/bad-after", "?after=-1", 400, 0},
		{"fail/limit-too-big", "?limit=5000", 400, 0},
		{"fail/limit-zero", "?limit=0", 400, 0},
		{"fail/unknown-parameter", "?sauce=x", 400, 0},
		{"fail/repeated-parameter", "?source=a&source=b", 400, 0},
		{"fail/bad-since", "?since=yesterday", 400, 0},
		{"fail/negative-duration", "?since=-1h", 400, 0},
		{"fail/since-after-until", "?since=1h&until=2h", 400, 0},
		{"fail/long-source", "?source=" + strings.Repeat("a", audit.MaxNameLen+1), 400, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, body := call(t, h, http.MethodGet, "/v1/audit"+tc.query, nil)
			if rec.Code != tc.status {
				t.Fatalf("status %d: %v", rec.Code, body)
			}
			if tc.status == 200 {
				if recs, _ := body["records"].([]any); len(recs) != tc.records || body["chain_ok"] != true {
					t.Fatalf("body %v", body)
				}
			}
		})
	}
}

// TestAuditFilterParsed: the query reaches the controller as a filter;
// a relative time counts back from the attested now.
func TestAuditFilterParsed(t *testing.T) {
	f := newFake(nil)
	rec, body := call(t, New(f, zerolog.Nop()).h, http.MethodGet, "/v1/audit?after=7&limit=2&source=crypto&action=key.create&since=90m&until=2030-06-01T11:59:00Z", nil)
	if rec.Code != 200 || body["next_after"] != float64(3) {
		t.Fatalf("status %d body %v", rec.Code, body)
	}
	want := audit.Filter{After: 7, Limit: 2, Source: "crypto", Action: "key.create",
		Since: fakeNow.Add(-90 * time.Minute), Until: time.Date(2030, 6, 1, 11, 59, 0, 0, time.UTC)}
	if len(f.filters) != 1 || f.filters[0] != want {
		t.Fatalf("filter %+v, want %+v", f.filters, want)
	}
}

func TestAuditVerifyRoute(t *testing.T) {
	h := New(newFake(nil), zerolog.Nop()).h
	rec, body := call(t, h, http.MethodGet, "/v1/audit/verify", nil)
	if rec.Code != 200 || body["first_bad_seq"] != float64(3) || body["chain_ok"] != false || body["verified_records"] != float64(2) {
		t.Fatalf("status %d body %v", rec.Code, body)
	}
	if rec, _ := call(t, h, http.MethodGet, "/v1/audit/verify?x=1", nil); rec.Code != 400 {
		t.Fatalf("verify with a parameter: %d", rec.Code)
	}
}

// refusingController refuses every reload with diagnostics.
type refusingController struct{ *fakeController }

func (r refusingController) Reload(context.Context) ([]supervisor.PluginChange, error) {
	return nil, &RefusedError{Diagnostics: []string{`c.hcl:3:5: Invalid value for "max_body_bytes": too small`, `c.hcl:9:3: Duplicate plugin block`}}
}

// TestReloadRefused: a file with errors is answered 409 reload_refused
// with one diagnostic per entry, no changes, and the request id.
func TestReloadRefused(t *testing.T) {
	h := New(refusingController{newFake(nil)}, zerolog.Nop()).h
	rec, body := call(t, h, http.MethodPost, "/v1/reload", http.Header{apierror.RequestIDHeader: {"req-9"}})
	diags, _ := body["diagnostics"].([]any)
	changes, isList := body["changes"].([]any)
	if rec.Code != 409 || body["error"] != "reload_refused" || len(diags) != 2 || !isList || len(changes) != 0 || body["request_id"] != "req-9" {
		t.Fatalf("status %d body %v", rec.Code, body)
	}
}

// TestNoUnauthenticatedHandler: the API is reachable only through
// TokenHandler; no exported method hands out the bare handler.
func TestNoUnauthenticatedHandler(t *testing.T) {
	handler := reflect.TypeFor[http.Handler]()
	st := reflect.TypeFor[*Server]()
	for i := range st.NumMethod() {
		m := st.Method(i)
		if m.Name == "TokenHandler" {
			continue
		}
		for j := range m.Type.NumOut() {
			if m.Type.Out(j).Implements(handler) {
				t.Errorf("Server.%s returns an http.Handler without the token check", m.Name)
			}
		}
	}
}

// TestMethodNotAllowedNamesAllowed: a 405 names the route's method in its
// body and in Allow.
func TestMethodNotAllowedNamesAllowed(t *testing.T) {
	rec, body := call(t, New(newFake(nil), zerolog.Nop()).h, http.MethodDelete, "/v1/audit", nil)
	if rec.Code != 405 || rec.Header().Get("Allow") != "GET" || !strings.Contains(body["error_description"].(string), "allowed: GET") {
		t.Fatalf("status %d Allow %q body %v", rec.Code, rec.Header().Get("Allow"), body)
	}
}

// testTLSConfig is a self-signed server certificate for 127.0.0.1.
func testTLSConfig(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Unix(0, 0), NotAfter: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestListenTCP(t *testing.T) {
	cfg, pool := testTLSConfig(t)
	t.Run("ok/loopback-plain", func(t *testing.T) {
		ln, tlsOn, err := ListenTCP("127.0.0.1:0", nil)
		if err != nil || tlsOn {
			t.Fatalf("ListenTCP = %v, tls %v", err, tlsOn)
		}
		ln.Close()
	})
	t.Run("fail/wildcard-without-tls", func(t *testing.T) {
		ln, _, err := ListenTCP("0.0.0.0:0", nil)
		if !errors.Is(err, ErrInsecureListener) {
			if ln != nil {
				ln.Close()
			}
			t.Fatalf("ListenTCP = %v, want ErrInsecureListener", err)
		}
	})
	t.Run("ok/wildcard-serves-tls-only", func(t *testing.T) {
		ln, tlsOn, err := ListenTCP("0.0.0.0:0", cfg)
		if err != nil || !tlsOn {
			t.Fatalf("ListenTCP = %v, tls %v", err, tlsOn)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Serve(ctx, ln, New(newFake(nil), zerolog.Nop()).TokenHandler([]byte("0123456789abcdef")))
		}()
		defer func() { cancel(); <-done }()
		port := ln.Addr().(*net.TCPAddr).Port
		url := fmt.Sprintf("https://127.0.0.1:%d/v1/plugins", port)
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		defer client.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer 0123456789abcdef")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		plain := &http.Client{Timeout: 10 * time.Second}
		if resp, err := plain.Get(fmt.Sprintf("http://127.0.0.1:%d/v1/plugins", port)); err == nil {
			defer resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Fatal("plain HTTP served on a non-loopback listener")
			}
		}
	})
}

// FuzzAuditFilter: any query of GET /v1/audit is answered 200 with a
// filter within the bounds, or 400 in the error shape; never a panic.
func FuzzAuditFilter(f *testing.F) {
	for _, seed := range []string{"", "after=1&limit=2", "source=crypto&action=plugin.*", "since=90m&until=2030-01-01T00:00:00Z",
		"limit=0", "after=-1", "since=1h&until=2h", "x=1", "source=a&source=b", "since=%ff", "limit=1001", "after=18446744073709551615"} {
		f.Add(seed)
	}
	s := New(newFake(nil), zerolog.Nop())
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/v1/audit", nil)
		req.URL.RawQuery = query
		flt, err := s.auditFilter(req)
		if err != nil {
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if flt.Limit < 1 || flt.Limit > audit.MaxListLimit || flt.After >= 1<<63 {
			t.Fatalf("filter out of bounds: %+v", flt)
		}
		if !flt.Since.IsZero() && !flt.Until.IsZero() && !flt.Since.Before(flt.Until) {
			t.Fatalf("since not before until: %+v", flt)
		}
	})
}
