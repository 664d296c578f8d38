package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/sdk/gatewire"
	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// childPIDs lists the direct children of pid.
func childPIDs(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	sort.Ints(out)
	return out
}

// pluginPID finds the daemon's child running the given binary.
func pluginPID(t testing.TB, d *daemon, binary string) int {
	t.Helper()
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		for _, c := range childPIDs(d.cmd.Process.Pid) {
			exe, _ := os.Readlink("/proc/" + strconv.Itoa(c) + "/exe")
			if exe == binary {
				return c
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no child running %s", binary)
	return 0
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// A zombie has exited; its parent just has not reaped it yet.
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func openFDs(pid int) int {
	ents, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(ents)
}

// TestKillPluginUnderLoad kills the crypto plugin 20 times under a steady
// client load: every request succeeds or gets the gateway's own 503
// (plugin_unavailable, with Retry-After and a request id), and the plugin
// serves again after each kill. How fast the 503s and the recovery are is
// measured by `make bench`, not asserted here.
func TestKillPluginUnderLoad(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": "  max_crashes = 100"}})
	client := &http.Client{Timeout: patience}
	// get returns the status and, for an error, the JSON error code when
	// the answer is the gateway's own 503 (anything else is "").
	get := func(ctx context.Context) (int, string, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", d.url+"/crypto/random?bytes=16", nil)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			return resp.StatusCode, "", nil
		}
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
			RequestID   string `json:"request_id"`
		}
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Description == "" || e.RequestID == "" ||
			resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-Request-Id") != e.RequestID {
			return resp.StatusCode, "", nil
		}
		return resp.StatusCode, e.Error, nil
	}
	// Warm up with the same concurrency as the load (so pooled client and
	// upstream connections exist), then take the daemon's descriptor baseline.
	var warm sync.WaitGroup
	for w := 0; w < 4; w++ {
		warm.Add(1)
		go func() {
			defer warm.Done()
			for i := 0; i < 20; i++ {
				get(context.Background())
			}
		}()
	}
	warm.Wait()
	baseFDs := openFDs(d.cmd.Process.Pid)
	baseG, _ := runtimeStats(t, d)

	ctx, cancel := context.WithCancel(context.Background())
	var ok, unavailable, other atomic.Int64
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				code, errCode, err := get(ctx)
				switch {
				case ctx.Err() != nil:
				case err == nil && code == 200:
					ok.Add(1)
				case err == nil && code == 503 && errCode == "plugin_unavailable":
					unavailable.Add(1)
				default:
					other.Add(1)
					mu.Lock()
					failures = append(failures, strconv.Itoa(code)+" "+errCode+" "+errString(err))
					mu.Unlock()
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	var recoveries []time.Duration
	for i := 0; i < 20; i++ {
		pid := pluginPID(t, d, bins.plugins["crypto"])
		killed := time.Now()
		must(t, syscall.Kill(pid, syscall.SIGKILL))
		for {
			if newPID := pluginPID(t, d, bins.plugins["crypto"]); newPID != pid {
				if code, _, err := get(context.Background()); err == nil && code == 200 {
					break
				}
			}
			if time.Since(killed) > patience {
				t.Fatalf("kill %d: plugin not serving again within %s", i, patience)
			}
			time.Sleep(5 * time.Millisecond)
		}
		recoveries = append(recoveries, time.Since(killed))
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	sort.Slice(recoveries, func(i, j int) bool { return recoveries[i] < recoveries[j] })
	t.Logf("requests ok=%d 503=%d other=%d; kill→serving median %s max %s (for information: make bench measures it)",
		ok.Load(), unavailable.Load(), other.Load(), recoveries[len(recoveries)/2], recoveries[len(recoveries)-1])
	if other.Load() != 0 {
		t.Fatalf("%d requests neither succeeded nor got the gateway's 503: %v", other.Load(), failures)
	}
	if ok.Load() == 0 {
		t.Fatal("no request succeeded")
	}
	// The daemon's descriptors return to baseline (idle connections to dead
	// plugins are dropped). The margin covers pooled connections: five
	// callers (four workers and this loop) may each leave one idle upstream
	// connection where the warm-up's four left fewer; a connection kept per
	// kill would be twenty.
	const margin = 6
	deadline := time.Now().Add(patience)
	for openFDs(d.cmd.Process.Pid) > baseFDs+margin && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := openFDs(d.cmd.Process.Pid); n > baseFDs+margin {
		t.Fatalf("daemon fds grew from %d to %d", baseFDs, n)
	}
	// So do its goroutines (a few of go-plugin's exit watchers may still be
	// winding down: allow a small margin).
	var g int
	for end := time.Now().Add(patience); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if g, _ = runtimeStats(t, d); g <= baseG+5 {
			break
		}
	}
	if g > baseG+5 {
		t.Fatalf("daemon goroutines grew from %d to %d", baseG, g)
	}
	h := do(t, "GET", d.url+"/health", nil)
	if h.status != 200 {
		t.Fatalf("health after kills: %d %s", h.status, h.body)
	}
	// Every crash and restart is in the audit log with version and digest.
	recs := auditLog(t, d)
	crashes, restarts := findAudit(recs, "plugin.crash"), findAudit(recs, "plugin.restart")
	if len(crashes) != 20 || len(restarts) != 20 {
		t.Fatalf("audit: %d crashes, %d restarts; want 20 each", len(crashes), len(restarts))
	}
	for _, r := range append(crashes, restarts...) {
		if r.Subject != "crypto" || r.Details["version"] == nil || r.Details["sha256"] == nil {
			t.Fatalf("audit record lacks plugin, version or digest: %+v", r)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestNoOrphans: kill -9 of the daemon ends every plugin, and a restarted
// daemon finds its ports free.
func TestNoOrphans(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}, DataDir: dir})
	pid := pluginPID(t, d, bins.plugins["crypto"])
	must(t, d.cmd.Process.Kill())
	<-d.done
	deadline := time.Now().Add(patience)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatal("plugin outlived its daemon")
	}
	// Same config, same ports: the restarted daemon comes up healthy.
	d2 := d.restart()
	if r := do(t, "GET", d2.url+"/crypto/random?bytes=4", nil); r.status != 200 {
		t.Fatalf("restart on the same ports: %d", r.status)
	}
}

// TestHostilePluginOutput: a plugin writing garbage, huge lines and floods
// on stderr/stdout cannot crash or stall the daemon.
func TestHostilePluginOutput(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": "", "spam": "#kind=stderrspam"}})
	for i := 0; i < 3; i++ {
		r := do(t, "GET", d.url+"/spam/?flood=1", nil)
		if r.status != 200 {
			t.Fatalf("spam: %d %s", r.status, r.body)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if r := do(t, "GET", d.url+"/crypto/random?bytes=8", nil); r.status != 200 {
		t.Fatalf("crypto after spam: %d", r.status)
	}
	if r := do(t, "GET", d.url+"/health", nil); r.status != 200 {
		t.Fatalf("health after spam: %d %s", r.status, r.body)
	}
	select {
	case <-d.done:
		t.Fatal("daemon died")
	default:
	}
	logs := d.logs.String()
	for _, want := range []string{`"truncated":true`, `"plugin":"spam"`, "plugin output rate-limited"} {
		if !strings.Contains(logs, want) {
			t.Errorf("daemon log lacks %s", want)
		}
	}
	if strings.Contains(logs, `"level":"panic"`) || strings.Contains(logs, `"level":"fatal"`) {
		t.Error("a plugin line was logged at panic/fatal level")
	}
}

// TestPluginIsolation: a plugin sees neither the daemon's environment nor
// its open files, and stdout noise before the handshake does not stop it.
func TestPluginIsolation(t *testing.T) {
	d := startDaemon(t, daemonOpts{
		Plugins: map[string]string{"spam": "#kind=stderrspam\n  env = { ONLY_THIS = \"yes\" }"},
		Env:     []string{"AUNSORM_TEST_DAEMON_SECRET=do-not-leak"},
	})
	r := do(t, "GET", d.url+"/spam/env", nil)
	if r.status != 200 {
		t.Fatalf("env: %d %s", r.status, r.body)
	}
	var got struct {
		Env []string `json:"env"`
		FDs []string `json:"fds"`
	}
	must(t, json.Unmarshal(r.body, &got))
	env := strings.Join(got.Env, "\n")
	if strings.Contains(env, "do-not-leak") || strings.Contains(env, "HOME=") || strings.Contains(env, "PATH=") {
		t.Fatalf("plugin inherited the daemon's environment:\n%s", env)
	}
	if !strings.Contains(env, "ONLY_THIS=yes") {
		t.Fatalf("configured env missing:\n%s", env)
	}
	// The plugin sees its own descriptors: the TCP socket (3), the
	// lifeline pipe (4), the gateway's unix socket (5).
	fds := strings.Join(got.FDs, " ")
	for _, want := range []string{"3=socket:", "4=pipe:", "5=socket:"} {
		if !strings.Contains(fds, want) {
			t.Fatalf("descriptor %q missing from the plugin's list: %v", want, got.FDs)
		}
	}
	for _, fd := range got.FDs {
		if strings.Contains(fd, d.dir) {
			t.Fatalf("plugin holds a daemon file: %s (all: %v)", fd, got.FDs)
		}
	}
	if !strings.Contains(d.logs.String(), "hello from init, before the handshake") {
		t.Fatal("pre-handshake stdout was not logged")
	}
}

// adminGet asks the daemon's admin unix socket, with the token the daemon
// wrote beside it.
func adminGet(t testing.TB, d *daemon, path string) *http.Response {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(d.dir, "data", "admin.sock.token"))
	must(t, err)
	req, err := http.NewRequest(http.MethodGet, "http://admin"+path, nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := (&http.Client{Transport: unixTransport(d)}).Do(req)
	must(t, err)
	return resp
}

func unixTransport(d *daemon) *http.Transport {
	return &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(d.dir, "data", "admin.sock"))
	}}
}

// auditEvent is one record from GET /v1/audit.
type auditEvent struct {
	Seq      uint64         `json:"seq"`
	Source   string         `json:"source"`
	Action   string         `json:"action"`
	Subject  string         `json:"subject"`
	Outcome  string         `json:"outcome"`
	Details  map[string]any `json:"details"`
	PrevHash string         `json:"prev_hash"`
	Hash     string         `json:"hash"`
}

// auditLog returns the daemon's audit records and checks the chain verifies.
func auditLog(t testing.TB, d *daemon) []auditEvent {
	t.Helper()
	resp := adminGet(t, d, "/v1/audit?limit=1000")
	defer resp.Body.Close()
	var page struct {
		Records []auditEvent `json:"records"`
		ChainOK bool         `json:"chain_ok"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&page))
	if !page.ChainOK {
		t.Fatal("audit hash chain does not verify")
	}
	return page.Records
}

// findAudit returns the records with the given action.
func findAudit(recs []auditEvent, action string) []auditEvent {
	var out []auditEvent
	for _, r := range recs {
		if r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

// runtimeStats reads the daemon's goroutine and descriptor counts from the
// admin API over its unix socket.
func runtimeStats(t testing.TB, d *daemon) (goroutines, fds int) {
	t.Helper()
	resp := adminGet(t, d, "/v1/runtime")
	defer resp.Body.Close()
	var v struct {
		Goroutines int `json:"goroutines"`
		FDs        int `json:"open_fds"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&v))
	return v.Goroutines, v.FDs
}

// TestHungPlugin: a stopped (SIGSTOP) plugin is detected by health pings,
// killed and relaunched; a request stuck in it gets 504 at the deadline.
func TestHungPlugin(t *testing.T) {
	d := startDaemon(t, daemonOpts{
		Plugins: map[string]string{"crypto": "  health_interval = \"200ms\"\n  health_timeout = \"200ms\"\n  health_failures = 6"},
		Gateway: "tls {\n    disabled = true\n  }\n  upstream_timeout = \"500ms\"\n  rate_limit {\n    requests_per_second = 0\n  }",
	})
	pid := pluginPID(t, d, bins.plugins["crypto"])
	must(t, syscall.Kill(pid, syscall.SIGSTOP))
	defer syscall.Kill(pid, syscall.SIGKILL)
	stopped := time.Now()
	// Detection takes about 6 pings of 200 ms; the gateway's deadline is
	// 500 ms, so a request meanwhile gets 504 instead of hanging.
	r := do(t, "GET", d.url+"/crypto/random?bytes=4", nil)
	wantError(t, r, 504, "upstream_timeout")
	for {
		if np := pluginPID(t, d, bins.plugins["crypto"]); np != pid {
			if r := do(t, "GET", d.url+"/crypto/random?bytes=4", nil); r.status == 200 {
				break
			}
		}
		if time.Since(stopped) > patience {
			t.Fatalf("hung plugin not replaced within %s", patience)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("hung plugin replaced and serving %s after SIGSTOP", time.Since(stopped))
	if alive(pid) {
		t.Fatal("the hung process was not killed")
	}
}

// TestReloadedHealthIntervalApplies: a reload that shortens a plugin's
// health_interval takes effect for the plugin's health pings, so a hung
// process is caught at the new pace, not the old one.
func TestReloadedHealthIntervalApplies(t *testing.T) {
	d := startDaemon(t, daemonOpts{
		Plugins: map[string]string{"crypto": "  health_interval = \"1h\"\n  health_timeout = \"200ms\"\n  health_failures = 3"},
		Gateway: "tls {\n    disabled = true\n  }\n  rate_limit {\n    requests_per_second = 0\n  }",
	})
	old := pluginPID(t, d, bins.plugins["crypto"])
	src, err := os.ReadFile(d.cfgPath)
	must(t, err)
	must(t, os.WriteFile(d.cfgPath, bytes.Replace(src, []byte(`health_interval = "1h"`), []byte(`health_interval = "200ms"`), 1), 0o600))
	if out, err := exec.Command(bins.daemon, "reload", "-config", d.cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	pid := old
	for deadline := time.Now().Add(patience); pid == old || alive(old); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a changed health_interval did not swap the plugin")
		}
		pid = pluginPID(t, d, bins.plugins["crypto"])
	}
	must(t, syscall.Kill(pid, syscall.SIGSTOP))
	defer syscall.Kill(pid, syscall.SIGKILL)
	stopped := time.Now()
	for pluginPID(t, d, bins.plugins["crypto"]) == pid {
		if time.Since(stopped) > patience {
			t.Fatalf("hung plugin not replaced within %s: the health interval of the reloaded config (200ms, was 1h) was not applied", patience)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPeerAndDeclaredServices: a plugin that declared peer and audit calls
// another plugin through the daemon, which names the caller; a plugin that
// declared nothing is refused both.
func TestPeerAndDeclaredServices(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{
		"caller":   "#kind=stderrspam\n  env = { DECLARE_HOST_SERVICES = \"1\", SPAM_PREFIX = \"caller\" }",
		"callee":   "#kind=stderrspam\n  env = { SPAM_PREFIX = \"callee\" }",
		"stranger": "#kind=stderrspam\n  env = { SPAM_PREFIX = \"stranger\" }",
	}})
	r := do(t, "GET", d.url+"/caller/call?plugin=callee&path=/callee/whoami", nil)
	if r.status != 200 || r.json["peer_status"] != float64(200) || r.json["audit"] != "ok" {
		t.Fatalf("declared caller: %d %s", r.status, r.body)
	}
	if body, _ := r.json["peer_body"].(string); !strings.Contains(body, `"caller":"caller"`) {
		t.Fatalf("callee did not learn the caller from the daemon: %s", r.body)
	}
	r = do(t, "GET", d.url+"/stranger/call?plugin=callee&path=/callee/whoami", nil)
	pe, _ := r.json["peer_error"].(string)
	ae, _ := r.json["audit_error"].(string)
	if !strings.Contains(pe, "did not declare") || !strings.Contains(ae, "did not declare") {
		t.Fatalf("undeclared services were not refused: %s", r.body)
	}
	if recs := findAudit(auditLog(t, d), "test.call"); len(recs) != 1 || recs[0].Source != "caller" {
		t.Fatalf("audit records from plugins: %+v", recs)
	}
}

// TestGatewaySocketOnlyForDaemon: a process other than the daemon (a
// sibling plugin, say: all run as the same user) that connects to a
// plugin's unix socket to pose as a calling plugin is cut off unanswered,
// while the daemon's own requests over that socket go on.
func TestGatewaySocketOnlyForDaemon(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{
		"callee": "#kind=stderrspam\n  env = { SPAM_PREFIX = \"callee\" }",
	}})
	frame, err := gatewire.AppendRequest(nil, &gatewire.Request{Method: "GET", URI: "/callee/whoami", Host: "localhost",
		Remote: "127.0.0.1:1", Scheme: "http", Header: http.Header{plugin.CallerHeader: {"kms"}}}, nil)
	must(t, err)
	c, err := net.Dial("unix", filepath.Join(d.dir, "data", "run", "callee.sock"))
	must(t, err)
	defer c.Close()
	must(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	if _, err := c.Write(frame); err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatal(err)
	}
	if p, err := gatewire.ReadFrame(bufio.NewReader(c), nil, 1<<20); err == nil {
		resp, _ := gatewire.DecodeResponse(p)
		t.Fatalf("a foreign process was answered on the gateway socket: %+v", resp)
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the connection was neither answered nor closed")
	}
	if r := do(t, "GET", d.url+"/callee/whoami", nil); r.status != 200 || r.json["caller"] != "" {
		t.Fatalf("through the gateway: %d %s", r.status, r.body)
	}
	for deadline := time.Now().Add(patience); !strings.Contains(d.logs.String(), "only the daemon may connect"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the refusal was not logged")
		}
	}
}

// TestProxyForwardsRequestAsSent: the plugin (reached over the gateway's
// framed unix socket) sees the client's method, target, host, fields and
// body, the gateway's X-Forwarded-* and request id, and none of the
// hop-by-hop fields; the client gets the plugin's answer without the
// plugin's hop-by-hop fields, with the gateway's request id once.
func TestProxyForwardsRequestAsSent(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{
		"spam": "#kind=stderrspam\n  env = { SPAM_PREFIX = \"hdr\" }",
	}})
	req, err := http.NewRequest("PUT", d.url+"/hdr/headers?a=1&b=%2F", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "api.example.test"
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "dropped")
	req.Header.Set("Keep-Alive", "timeout=9")
	req.Header.Set("Upgrade", "h2c")
	req.Header.Set("X-Forwarded-For", "203.0.113.9") // not trusted: replaced
	req.Header.Set("X-Aunsorm-Caller", "kms")        // only the daemon names a calling plugin
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var seen struct {
		Method, URI, Host, Remote, Body string
		Length                          int64
		Header                          http.Header
	}
	if err := json.NewDecoder(resp.Body).Decode(&seen); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if seen.Method != "PUT" || seen.URI != "/hdr/headers?a=1&b=%2F" || seen.Host != "api.example.test" ||
		seen.Body != "payload" || seen.Length != 7 || !strings.HasPrefix(seen.Remote, "127.0.0.1:") {
		t.Fatalf("plugin saw %+v", seen)
	}
	for _, k := range []string{"Connection", "X-Hop", "Keep-Alive", "Upgrade"} {
		if v, ok := seen.Header[k]; ok {
			t.Errorf("hop-by-hop %s reached the plugin: %q", k, v)
		}
	}
	if v, ok := seen.Header["X-Aunsorm-Caller"]; ok {
		t.Errorf("a client posed as plugin %q to the plugin", v)
	}
	want := map[string][]string{
		"X-Multi":           {"one", "two"},
		"X-Forwarded-For":   {"127.0.0.1"},
		"X-Forwarded-Host":  {"api.example.test"},
		"X-Forwarded-Proto": {"http"},
		"X-Request-Id":      {resp.Header.Get("X-Request-Id")},
	}
	for k, v := range want {
		if got := seen.Header[k]; strings.Join(got, ",") != strings.Join(v, ",") || v[0] == "" {
			t.Errorf("plugin saw %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"Connection", "X-Private", "Keep-Alive"} {
		if v, ok := resp.Header[k]; ok {
			t.Errorf("the plugin's hop-by-hop %s reached the client: %q", k, v)
		}
	}
	if got := resp.Header.Values("X-Request-Id"); len(got) != 1 || got[0] == "set-by-plugin" {
		t.Errorf("client got request ids %q; want the gateway's, once", got)
	}
	if got := resp.Header.Values("X-Answer"); strings.Join(got, ",") != "a,b" {
		t.Errorf("client got X-Answer %q", got)
	}
	if resp.ContentLength <= 0 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("content length %d, type %q", resp.ContentLength, resp.Header.Get("Content-Type"))
	}

	// Nor can a caller of the plugin's own TCP port.
	direct, err := http.NewRequest("GET", "http://"+d.ports["spam"]+"/hdr/headers", nil)
	must(t, err)
	direct.Header.Set("X-Aunsorm-Caller", "kms")
	dresp, err := http.DefaultClient.Do(direct)
	must(t, err)
	defer dresp.Body.Close()
	seen.Header = nil
	if err := json.NewDecoder(dresp.Body).Decode(&seen); err != nil || dresp.StatusCode != 200 {
		t.Fatalf("direct: status %d, %v", dresp.StatusCode, err)
	}
	if v, ok := seen.Header["X-Aunsorm-Caller"]; ok {
		t.Errorf("a direct caller posed as plugin %q to the plugin", v)
	}
}
