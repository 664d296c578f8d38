// Package e2e drives the real binaries: TestMain builds aunsormd and the
// plugins once, each test starts its own daemon on free loopback ports and
// talks to it over HTTP like a client would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bins holds the paths of the binaries built by TestMain.
var bins struct {
	dir     string
	daemon  string
	plugins map[string]string
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "aunsorm-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Plugins that run as another user (TestPluginPrivileges) must reach
	// their binaries.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bins.dir = dir
	bins.daemon = filepath.Join(dir, "aunsormd")
	bins.plugins = map[string]string{}
	targets := map[string]string{bins.daemon: "./daemon"}
	for _, p := range []string{"crypto", "pqc"} {
		bins.plugins[p] = filepath.Join(dir, "aunsorm-plugin-"+p)
		targets[bins.plugins[p]] = "./plugins/" + p
	}
	// A rebuilt crypto plugin with another version string, for hot swaps.
	bins.plugins["crypto-v2"] = filepath.Join(dir, "aunsorm-plugin-crypto-v2")
	bins.plugins["stderrspam"] = filepath.Join(dir, "aunsorm-plugin-stderrspam")
	targets[bins.plugins["stderrspam"]] = "./e2e/testdata/stderrspam"
	targets[bins.plugins["crypto-v2"]] = "./plugins/crypto"
	bins.plugins["protov2"] = filepath.Join(dir, "aunsorm-plugin-protov2")
	targets[bins.plugins["protov2"]] = "./e2e/testdata/protov2"
	// The stateful example, built in the SDK's own module.
	bins.plugins["ledger"] = filepath.Join(dir, "aunsorm-plugin-ledger")
	targets[bins.plugins["ledger"]] = "sdk:./examples/ledger"
	// Its schema generation 2, from the same source tree.
	bins.plugins["ledger-v2"] = filepath.Join(dir, "aunsorm-plugin-ledger-v2")
	targets[bins.plugins["ledger-v2"]] = "sdk:./examples/ledger"
	bins.plugins["sealer"] = filepath.Join(dir, "aunsorm-plugin-sealer")
	targets[bins.plugins["sealer"]] = "./e2e/testdata/sealer"
	root, _ := filepath.Abs("..")
	var wg sync.WaitGroup
	errs := make(chan error, len(targets))
	for out, pkg := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"build", "-o", out, pkg}
			// AUNSORM_E2E_RACE=1 builds the binaries with the race detector.
			if os.Getenv("AUNSORM_E2E_RACE") != "" {
				args = []string{"build", "-race", "-o", out, pkg}
			}
			if out == bins.plugins["crypto-v2"] {
				args = append(args[:len(args)-3:len(args)-3], "-ldflags", "-X main.version=2.0.0-swapped", "-o", out, "./plugins/crypto")
			}
			if out == bins.plugins["ledger-v2"] {
				args = append(args[:len(args)-3:len(args)-3], "-ldflags", "-X main.schemaGen=2 -X main.version="+ledgerV2Version, "-o", out, pkg)
			}
			cmd := exec.Command("go", args...)
			cmd.Dir = root
			if rest, ok := strings.CutPrefix(pkg, "sdk:"); ok {
				args[len(args)-1] = rest
				cmd = exec.Command("go", args...)
				cmd.Dir = filepath.Join(root, "sdk")
			}
			if b, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("build %s: %v\n%s", pkg, err, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	pg.Stop()
	return code
}

// freePort returns a loopback address nobody listens on right now.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// daemonOpts describes one test daemon.
type daemonOpts struct {
	// Plugins maps plugin name to its block body (extra HCL lines); the
	// command and listen lines are added.
	Plugins map[string]string
	// Clock is the body of the clock block (default local, 30s).
	Clock string
	// Gateway is extra gateway HCL (default: plain HTTP, no rate limit).
	Gateway string
	// Env is extra environment for the daemon.
	Env []string
	// DataDir reuses a data directory.
	DataDir string
	// NoWait skips waiting for /health.
	NoWait bool
	// GatewayAddr is the gateway's address (default: a free port).
	GatewayAddr string
	// Storage is the body of a storage block (none when empty).
	Storage string
}

type daemon struct {
	t       testing.TB
	cmd     *exec.Cmd
	dir     string
	cfgPath string
	url     string
	ports   map[string]string
	logs    *syncBuffer
	done    chan struct{}
	exit    error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeConfig(t testing.TB, dir string, o daemonOpts, gw string, ports map[string]string) string {
	t.Helper()
	clk := o.Clock
	if clk == "" {
		clk = `source = "local"
  max_age = "30s"`
	}
	gwExtra := o.Gateway
	if gwExtra == "" {
		gwExtra = `tls {
    disabled = true
  }
  rate_limit {
    requests_per_second = 0
  }`
	}
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir = %q\nlog {\n  level = \"info\"\n  format = \"json\"\n}\n", filepath.Join(dir, "data"))
	fmt.Fprintf(&b, "gateway {\n  listen = %q\n  %s\n}\n", gw, gwExtra)
	fmt.Fprintf(&b, "clock {\n  %s\n}\n", clk)
	if o.Storage != "" {
		fmt.Fprintf(&b, "storage {\n%s\n}\n", o.Storage)
	}
	for name, body := range o.Plugins {
		cmd := bins.plugins[name]
		if i := strings.Index(body, "#kind="); i >= 0 {
			cmd = bins.plugins[strings.Fields(body[i+6:])[0]]
		}
		fmt.Fprintf(&b, "plugin %q {\n  command = %q\n  listen = %q\n%s\n}\n", name, cmd, ports[name], body)
	}
	p := filepath.Join(dir, "aunsorm.hcl")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startDaemon writes a config and starts aunsormd, waiting for /health 200.
func startDaemon(t testing.TB, o daemonOpts) *daemon {
	t.Helper()
	dir := o.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	gw := o.GatewayAddr
	if gw == "" {
		gw = freePort(t)
	}
	ports := map[string]string{}
	for name := range o.Plugins {
		ports[name] = freePort(t)
	}
	d := &daemon{t: t, dir: dir, url: "http://" + gw, ports: ports}
	d.cfgPath = writeConfig(t, dir, o, gw, ports)
	cmd := exec.Command(bins.daemon, "serve", "-config", d.cfgPath)
	cmd.Env = append(os.Environ(), o.Env...)
	d.start(cmd)
	if !o.NoWait {
		d.waitHealthy(patience)
	}
	return d
}

// restart starts a new daemon on d's config, data and ports once d has
// exited (however it ended), and waits for /health 200.
func (d *daemon) restart() *daemon {
	d.t.Helper()
	<-d.done
	// Plugins outlive a killed daemon by a moment and hold their ports
	// until they exit.
	addrs := []string{strings.TrimPrefix(d.url, "http://")}
	for _, a := range d.ports {
		addrs = append(addrs, a)
	}
	for _, a := range addrs {
		for deadline := time.Now().Add(patience); ; time.Sleep(10 * time.Millisecond) {
			ln, err := net.Listen("tcp", a)
			if err == nil {
				ln.Close()
				break
			}
			if time.Now().After(deadline) {
				d.t.Fatalf("port %s still taken %s after the daemon exited: %v", a, patience, err)
			}
		}
	}
	d2 := &daemon{t: d.t, dir: d.dir, url: d.url, ports: d.ports, cfgPath: d.cfgPath}
	cmd := exec.Command(bins.daemon, "serve", "-config", d.cfgPath)
	cmd.Env = d.cmd.Env
	d2.start(cmd)
	d2.waitHealthy(patience)
	return d2
}

// start runs cmd as d's process: its output collected, stopped when the
// test ends, its log shown when the test failed, a data race reported.
func (d *daemon) start(cmd *exec.Cmd) {
	d.t.Helper()
	d.cmd, d.logs, d.done = cmd, &syncBuffer{}, make(chan struct{})
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func() { d.exit = cmd.Wait(); close(d.done) }()
	d.t.Cleanup(func() {
		d.stop()
		if strings.Contains(d.logs.String(), "WARNING: DATA RACE") {
			d.t.Errorf("the race detector fired in the daemon or a plugin:\n%s", d.logs.String())
		}
		if d.t.Failed() {
			d.t.Logf("daemon log (%s):\n%s", strings.Join(cmd.Args, " "), tail(d.logs.String(), 60))
		}
	})
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (d *daemon) stop() {
	if d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

func (d *daemon) waitHealthy(timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			d.t.Fatalf("daemon exited: %v\n%s", d.exit, tail(d.logs.String(), 40))
		default:
		}
		resp, err := http.Get(d.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("daemon not healthy within %s\n%s", timeout, tail(d.logs.String(), 40))
}

// response is a decoded HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func do(t testing.TB, method, url string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, body: raw}
	_ = json.Unmarshal(raw, &r.json)
	checkDocumented(t, req, r)
	return r
}

// wantError asserts status and the JSON error shape with the given code.
func wantError(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if r.json["error"] != code {
		t.Fatalf("error = %v, want %q; body %s", r.json["error"], code, r.body)
	}
	if _, ok := r.json["error_description"].(string); !ok {
		t.Fatalf("no error_description: %s", r.body)
	}
	if id, _ := r.json["request_id"].(string); id == "" || id != r.header.Get("X-Request-Id") {
		t.Fatalf("request_id %q does not match header %q", id, r.header.Get("X-Request-Id"))
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
}
