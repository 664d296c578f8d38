package plugintest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/pluginhost"
	"github.com/aunsorm/aunsorm/sdk/plugintest"
	"github.com/aunsorm/aunsorm/sdk/sandbox"
)

func TestConformEcho(t *testing.T) {
	plugintest.Conform(t, plugintest.Options{Binary: echoBinary, Config: `greeting = "hi"`}, "echo")
}

// Verify reports each rule; asked for the wrong kind, only describe fails.
func TestVerify(t *testing.T) {
	results, err := plugintest.Verify(t.Context(), plugintest.Options{Binary: echoBinary}, "crypto")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"describe", "health", "not_found/echo", "config/valid", "config/unknown_attribute", "stale_clock", "stop"}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(results), len(want), results)
	}
	for i, r := range results {
		if r.Rule != want[i] {
			t.Errorf("rule %d is %q, want %q", i, r.Rule, want[i])
		}
		if wantFail := r.Rule == "describe"; (r.Err != nil) != wantFail || (wantFail && !errors.Is(r.Err, plugintest.ErrNonconformant)) {
			t.Errorf("rule %s: error %v", r.Rule, r.Err)
		}
	}
}

// echoReply is the body of a successful POST /echo/.
type echoReply struct {
	ID            string          `json:"id"`
	Greeting      string          `json:"greeting"`
	AttestedTime  time.Time       `json:"attested_time"`
	AuditSequence uint64          `json:"audit_sequence"`
	Echo          json.RawMessage `json:"echo"`
}

func TestStartEcho(t *testing.T) {
	h := plugintest.Start(t, plugintest.Options{Binary: echoBinary, Config: "greeting = \"hi\"\n"})
	if h.Descriptor.Kind != "echo" || h.Descriptor.Name != "aunsorm-echo" {
		t.Fatalf("descriptor %+v", h.Descriptor)
	}
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantCode    string
	}{
		{"ok/object", http.MethodPost, "/echo/", "application/json", `{"ping": 1}`, http.StatusOK, ""},
		{"ok/array", http.MethodPost, "/echo/", "", `[1,2,3]`, http.StatusOK, ""},
		{"fail/malformed", http.MethodPost, "/echo/", "application/json", `{"ping":`, http.StatusBadRequest, "invalid_request"},
		{"fail/two_values", http.MethodPost, "/echo/", "application/json", `{}{}`, http.StatusBadRequest, "invalid_request"},
		{"fail/content_type", http.MethodPost, "/echo/", "text/plain", `{}`, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"fail/method", http.MethodGet, "/echo/", "", "", http.StatusMethodNotAllowed, "method_not_allowed"},
		{"fail/unknown_path", http.MethodPost, "/echo/nope", "application/json", `{}`, http.StatusNotFound, "not_found"},
	}
	var ids []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, h.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if resp.Header.Get(calibration.HeaderAttestedTime) == "" {
				t.Errorf("no %s header", calibration.HeaderAttestedTime)
			}
			if tt.wantCode != "" {
				var e apierror.Error
				if err := json.Unmarshal(body, &e); err != nil || e.Code != tt.wantCode || e.RequestID == "" {
					t.Fatalf("error body %s, want code %q and a request id", body, tt.wantCode)
				}
				return
			}
			var r echoReply
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatal(err)
			}
			var got, want any
			_ = json.Unmarshal(r.Echo, &got)
			_ = json.Unmarshal([]byte(tt.body), &want)
			if fmt.Sprint(got) != fmt.Sprint(want) || r.Greeting != "hi" || len(r.ID) != 32 || r.AttestedTime.IsZero() {
				t.Fatalf("reply %+v", r)
			}
			ids = append(ids, r.ID)
		})
	}
	// One audit event per successful request, in order.
	recs := h.Audit()
	if len(recs) != len(ids) {
		t.Fatalf("%d audit records, want %d", len(recs), len(ids))
	}
	for i, rec := range recs {
		if rec.Sequence != uint64(i+1) || rec.Action != "echo.request" || rec.Subject != ids[i] || rec.HashHex == "" {
			t.Errorf("record %d: %+v", i, rec)
		}
	}
}

func TestKill(t *testing.T) {
	h := plugintest.Start(t, plugintest.Options{Binary: echoBinary})
	h.Kill()
	if !h.Client().Exited() {
		t.Fatal("process still running after Kill")
	}
	if conn, err := net.Dial("tcp", strings.TrimPrefix(h.URL, "http://")); err == nil {
		conn.Close()
		t.Fatal("listener still accepts after Kill")
	}
	if err := h.Close(); err != nil {
		t.Fatalf("Close after Kill: %v", err)
	}
}

// A request in flight when Stop arrives is answered before the plugin exits.
func TestStopDrainsInFlightRequest(t *testing.T) {
	h := plugintest.Start(t, plugintest.Options{Binary: echoBinary})
	addr := strings.TrimPrefix(h.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const body = `{"in":"flight"}`
	fmt.Fprintf(conn, "POST /echo/ HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, len(body))
	br := bufio.NewReader(conn)
	// 100 Continue: the handler is reading the body, the request is in flight.
	cont, err := http.ReadResponse(br, nil)
	if err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue, got %v %v", cont, err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- h.Stop(10 * time.Second) }()
	waitDraining(t, h)
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatalf("finishing the body: %v", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("in-flight request cut by Stop: %v", err)
	}
	var r echoReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK || string(r.Echo) != body {
		t.Fatalf("in-flight request: %d %+v %v", resp.StatusCode, r, err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !h.Client().Exited() {
		t.Fatal("process still running after Stop")
	}
}

// waitDraining returns once the plugin's Health RPC stops answering, which
// it does while Stop drains; if that is never seen the test goes on and
// proves less, but never fails for it.
func waitDraining(t *testing.T, h *plugintest.Harness) {
	t.Helper()
	for range 100 {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		_, err := h.Client().Health(ctx)
		cancel()
		if err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Log("never saw the plugin draining; the request may have finished before Stop")
}

func TestNew(t *testing.T) {
	digest, err := pluginhost.FileDigest(echoBinary)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    plugintest.Options
		wantErr error
	}{
		{"ok/pinned", plugintest.Options{Binary: echoBinary, SHA256: strings.ToUpper(digest)}, nil},
		{"ok/env", plugintest.Options{Binary: echoBinary, Env: []string{"GOMAXPROCS=1"}, Name: "echo-1"}, nil},
		{"fail/no_binary", plugintest.Options{}, plugintest.ErrOptions},
		{"fail/negative_max_age", plugintest.Options{Binary: echoBinary, ClockMaxAge: -time.Second}, plugintest.ErrOptions},
		{"fail/missing_binary", plugintest.Options{Binary: "/nonexistent/aunsorm-plugin"}, pluginhost.ErrLaunch},
		{"fail/digest_mismatch", plugintest.Options{Binary: echoBinary, SHA256: strings.Repeat("ab", 32)}, pluginhost.ErrDigestMismatch},
		{"fail/config", plugintest.Options{Binary: echoBinary, Config: `greeting = ""`}, plugin.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := plugintest.New(t.Context(), tt.opts)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if err := h.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewRemovesItsDataDir(t *testing.T) {
	h, err := plugintest.New(t.Context(), plugintest.Options{Binary: echoBinary})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h.DataDir); err != nil {
		t.Fatalf("data dir: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h.DataDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data dir left behind: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		wantLine int // 0: valid
	}{
		{"ok/empty", "", 0},
		{"ok/greeting", `greeting = "merhaba"`, 0},
		{"fail/unknown_attribute", "greeting = \"hi\"\ncolour = \"blue\"\n", 2},
		{"fail/empty_greeting", "\n\ngreeting = \"\"\n", 3},
		{"fail/long_greeting", `greeting = "` + strings.Repeat("x", 65) + `"`, 1},
		{"fail/wrong_type", `greeting = ["a"]`, 1},
		{"fail/syntax", `greeting = `, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := plugintest.Validate(t, echoBinary, tt.config)
			if tt.wantLine == 0 {
				if err != nil {
					t.Fatalf("unexpected diagnostics: %v", err)
				}
				return
			}
			var ce *plugin.ConfigError
			if !errors.As(err, &ce) || len(ce.Diagnostics) == 0 {
				t.Fatalf("want a *plugin.ConfigError, got %v", err)
			}
			d := ce.Diagnostics[0]
			if d.Subject == nil || d.Subject.Filename != plugintest.ConfigFilename || d.Subject.Start.Line != tt.wantLine {
				t.Fatalf("diagnostic %v, want %s:%d", err, plugintest.ConfigFilename, tt.wantLine)
			}
		})
	}
}

// TestStartSandboxed: the example plugin serves confined as under the
// daemon, and the harness reports the confinement.
func TestStartSandboxed(t *testing.T) {
	abi, err := sandbox.ABI()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI: no Landlock on this kernel: %v", err)
		}
		t.Skipf("no Landlock on this kernel: %v", err)
	}
	h := plugintest.Start(t, plugintest.Options{Binary: echoBinary, Config: "greeting = \"hi\"\n", Sandbox: true})
	if got, want := h.Client().Sandbox(), "landlock ABI "+strconv.Itoa(abi); got != want {
		t.Fatalf("sandbox %q, want %q", got, want)
	}
	resp, err := http.Post(h.URL+"/echo/", "application/json", strings.NewReader(`{"ping": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confined echo: %d", resp.StatusCode)
	}
}
