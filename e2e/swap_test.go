package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/sdk/pluginhost"
)

// setPluginCommand rewrites the crypto plugin's command in the daemon's
// config file.
func setPluginCommand(t *testing.T, d *daemon, from, to string) {
	t.Helper()
	src, err := os.ReadFile(d.cfgPath)
	must(t, err)
	if !bytes.Contains(src, []byte(from)) {
		t.Fatalf("config lacks %s", from)
	}
	must(t, os.WriteFile(d.cfgPath, bytes.Replace(src, []byte(`command = "`+from+`"`), []byte(`command = "`+to+`"`), 1), 0o600))
}

// loadResult counts a load run's outcomes.
type loadResult struct {
	ok, failed atomic.Int64
	// started is the number of the last request sent; requests are
	// numbered from 1 in the order they are started.
	started  atomic.Int64
	mu       sync.Mutex
	versions []string       // versions in the order answers arrived, repeats folded
	byReq    map[int]string // request number -> version that answered it
	errors   []string
}

// answeredBy returns the versions that answered the requests numbered in
// (from, to], and how many there were.
func (r *loadResult) answeredBy(from, to int64) (map[string]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]int{}
	n := 0
	for i, v := range r.byReq {
		if int64(i) > from && int64(i) <= to {
			seen[v]++
			n++
		}
	}
	return seen, n
}

// runLoad sends about rate requests/s (POST encrypt and GET random,
// alternating) until ctx ends.
func runLoad(ctx context.Context, url string, rate int, res *loadResult) *sync.WaitGroup {
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	body := []byte(`{"algorithm":"AES-256-GCM","key":"` + b64.EncodeToString(make([]byte, 32)) + `","plaintext":"aGVsbG8"}`)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer tick.Stop()
		var n int
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			n++
			res.started.Store(int64(n))
			wg.Add(1)
			go func(n int) {
				defer wg.Done()
				var req *http.Request
				if n%2 == 0 {
					req, _ = http.NewRequest("POST", url+"/crypto/encrypt", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
				} else {
					req, _ = http.NewRequest("GET", url+"/crypto/random?bytes=16", nil)
				}
				resp, err := client.Do(req)
				if err != nil {
					res.failed.Add(1)
					res.mu.Lock()
					res.errors = append(res.errors, err.Error())
					res.mu.Unlock()
					return
				}
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				res.mu.Lock()
				defer res.mu.Unlock()
				if resp.StatusCode != 200 {
					res.failed.Add(1)
					res.errors = append(res.errors, fmt.Sprintf("%d %s", resp.StatusCode, buf.String()))
					return
				}
				res.ok.Add(1)
				v := resp.Header.Get("X-Aunsorm-Plugin")
				if res.byReq == nil {
					res.byReq = map[int]string{}
				}
				res.byReq[n] = v
				if len(res.versions) == 0 || res.versions[len(res.versions)-1] != v {
					res.versions = append(res.versions, v)
				}
			}(n)
		}
	}()
	return &wg
}

// TestHotSwapUnderLoad swaps the crypto plugin for a rebuilt binary while
// ~200 req/s flow through the gateway: no request fails, and responses
// move from the old version to the new one.
func TestHotSwapUnderLoad(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": "", "pqc": ""}})
	pqcPID := pluginPID(t, d, bins.plugins["pqc"])
	ctx, cancel := context.WithCancel(context.Background())
	var res loadResult
	wg := runLoad(ctx, d.url, 200, &res)
	time.Sleep(time.Second)

	const v1, v2 = "aunsorm-crypto/0.1.0", "aunsorm-crypto/2.0.0-swapped"
	setPluginCommand(t, d, bins.plugins["crypto"], bins.plugins["crypto-v2"])
	start := time.Now()
	out, err := exec.Command(bins.daemon, "reload", "-config", d.cfgPath).CombinedOutput()
	took := time.Since(start)
	if err != nil || !strings.Contains(string(out), "crypto: swapped (0.1.0 -> 2.0.0-swapped)") {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	// The reload has returned: the gateway sends every request started
	// from now on to the new process. Requests started earlier may still
	// be answered by the old one while it drains, in any order, so the
	// versions are judged by when a request started, not when its answer
	// arrived.
	swapped := res.started.Load()
	time.Sleep(500 * time.Millisecond)
	mid := res.started.Load()
	time.Sleep(500 * time.Millisecond)
	// And back again with SIGHUP.
	setPluginCommand(t, d, bins.plugins["crypto-v2"], bins.plugins["crypto"])
	hup := res.started.Load()
	must(t, d.cmd.Process.Signal(syscall.SIGHUP))
	// A v1 answer to a request started after the SIGHUP comes from the
	// new process (the first v1 process had drained before that request
	// could reach it): the swap back is done.
	var back int64
	for deadline := time.Now().Add(patience); back == 0; time.Sleep(50 * time.Millisecond) {
		if seen, _ := res.answeredBy(hup, res.started.Load()); seen[v1] > 0 {
			back = res.started.Load()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no v1 answer after the SIGHUP; versions seen: %v", res.versions)
		}
	}
	for deadline := time.Now().Add(patience); ; time.Sleep(50 * time.Millisecond) {
		if _, n := res.answeredBy(back, res.started.Load()); n >= 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answers after the swap back")
		}
	}
	cancel()
	wg.Wait()
	t.Logf("ok=%d failed=%d versions=%v reload took %s", res.ok.Load(), res.failed.Load(), res.versions, took)
	if res.failed.Load() != 0 {
		t.Fatalf("%d requests failed across the swaps: %v", res.failed.Load(), res.errors)
	}
	if seen, n := res.answeredBy(0, res.started.Load()); len(seen) != 2 || seen[v1]+seen[v2] != n {
		t.Fatalf("versions answering = %v, want only %s and %s", seen, v1, v2)
	}
	if seen, n := res.answeredBy(swapped, mid); n == 0 || seen[v2] != n {
		t.Fatalf("requests started after the reload returned were answered by %v, want only %s", seen, v2)
	}
	if seen, n := res.answeredBy(back, res.started.Load()); n == 0 || seen[v1] != n {
		t.Fatalf("requests started after the swap back were answered by %v, want only %s", seen, v1)
	}
	// Only one crypto process (and the pqc one) is left once the last old
	// one has drained.
	var n int
	for end := time.Now().Add(patience); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		n = 0
		for _, c := range childPIDs(d.cmd.Process.Pid) {
			if alive(c) {
				n++
			}
		}
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("%d plugin processes after the swaps", n)
	}
	// The unchanged pqc plugin was left alone by both reloads.
	if pid := pluginPID(t, d, bins.plugins["pqc"]); pid != pqcPID {
		t.Fatalf("unchanged plugin was restarted: pid %d -> %d", pqcPID, pid)
	}
	// A swap is recorded once its old process has stopped, a moment after
	// the process count above drops.
	swaps := findAudit(auditLog(t, d), "plugin.swap")
	for end := time.Now().Add(patience); len(swaps) < 2 && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		swaps = findAudit(auditLog(t, d), "plugin.swap")
	}
	if len(swaps) != 2 || swaps[0].Details["old_version"] != "0.1.0" || swaps[0].Details["version"] != "2.0.0-swapped" ||
		swaps[0].Details["sha256"] == swaps[0].Details["old_sha256"] {
		t.Fatalf("audit swap records: %+v", swaps)
	}
}

// TestSwapRollback: a replacement that cannot start leaves the old plugin
// serving, and the reload reports why (found by validating the block
// before anything is applied).
func TestSwapRollback(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}})
	src, err := os.ReadFile(d.cfgPath)
	must(t, err)
	tests := []struct {
		name, edit, want string
	}{
		{"fail/bad-plugin-config", strings.Replace(string(src), `command = "`+bins.plugins["crypto"]+`"`, `command = "`+bins.plugins["crypto-v2"]+`"
  config {
    max_body_bytes = 1
  }`, 1), "max_body_bytes"},
		{"fail/sha256-mismatch", strings.Replace(string(src), `command = "`+bins.plugins["crypto"]+`"`, `command = "`+bins.plugins["crypto-v2"]+`"
  sha256 = "`+strings.Repeat("0", 64)+`"`, 1), "sha256 mismatch"},
		{"fail/not-a-plugin", strings.Replace(string(src), `command = "`+bins.plugins["crypto"]+`"`, `command = "/bin/true"`, 1), "crypto"},
		{"fail/protocol-version", strings.Replace(string(src), `command = "`+bins.plugins["crypto"]+`"`, `command = "`+bins.plugins["protov2"]+`"`, 1), "speaks another protocol version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			must(t, os.WriteFile(d.cfgPath, []byte(tc.edit), 0o600))
			// Every plugin block is validated (the plugin launched in
			// validate-only mode) before anything is applied, so each of
			// these is refused before a swap is tried.
			out, err := exec.Command(bins.daemon, "reload", "-config", d.cfgPath).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "nothing was changed") || !strings.Contains(string(out), tc.want) {
				t.Fatalf("reload: err=%v\n%s", err, out)
			}
			r := do(t, "GET", d.url+"/crypto/random?bytes=4", nil)
			if r.status != 200 || r.header.Get("X-Aunsorm-Plugin") != "aunsorm-crypto/0.1.0" {
				t.Fatalf("after rollback: %d %v", r.status, r.header.Get("X-Aunsorm-Plugin"))
			}
		})
	}
	must(t, os.WriteFile(d.cfgPath, src, 0o600))
	// The plugin list shows the old process still running, and the audit
	// log recorded the rollbacks.
	out, err := exec.Command(bins.daemon, "plugin", "list", "-config", d.cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "crypto") || !strings.Contains(string(out), "running") {
		t.Fatalf("plugin list: %v\n%s", err, out)
	}
	recs := auditLog(t, d)
	if rej := findAudit(recs, "config.reload"); len(rej) != len(tests) || rej[0].Outcome != "rejected" || len(findAudit(recs, "plugin.swap")) != 0 {
		t.Fatalf("audit reload records: %+v", rej)
	}
	if st := findAudit(recs, "plugin.start"); len(st) != 1 || st[0].Details["sha256"] == nil {
		t.Fatalf("audit start records: %+v", st)
	}
}

// TestPinnedBinaryReplacedOnDisk: a pinned binary replaced after start is
// refused at the next relaunch, with the expected and actual digests in
// the log, and clients get the gateway's 503 instead of the unpinned code.
func TestPinnedBinaryReplacedOnDisk(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "aunsorm-plugin-crypto")
	copyFile(t, bins.plugins["crypto"], bin)
	pin, err := pluginhost.FileDigest(bin)
	must(t, err)
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": "#kind=crypto\n  sha256 = \"" + pin + "\"\n  max_crashes = 2"}})
	// Point the block at our copy.
	setPluginCommand(t, d, bins.plugins["crypto"], bin)
	out, err := exec.Command(bins.daemon, "reload", "-config", d.cfgPath).CombinedOutput()
	if err != nil {
		t.Fatalf("reload onto the copy: %v\n%s", err, out)
	}
	// Replace the file (new inode, as a package upgrade would) and kill the plugin.
	pid := pluginPID(t, d, bin)
	copyFile(t, bins.plugins["crypto-v2"], bin+".new")
	must(t, os.Rename(bin+".new", bin))
	actual, err := pluginhost.FileDigest(bin)
	must(t, err)
	must(t, syscall.Kill(pid, syscall.SIGKILL))
	deadline := time.Now().Add(patience)
	for !strings.Contains(d.logs.String(), actual) {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal naming the new digest in the log:\n%s", tail(d.logs.String(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
	logs := d.logs.String()
	if !strings.Contains(logs, "sha256 mismatch") || !strings.Contains(logs, pin) {
		t.Fatalf("log lacks mismatch with expected digest:\n%s", tail(logs, 30))
	}
	r := do(t, "GET", d.url+"/crypto/random?bytes=4", nil)
	wantError(t, r, 503, "plugin_unavailable")
	if h := do(t, "GET", d.url+"/health", nil); h.status != 503 {
		t.Fatalf("health with a refused plugin: %d", h.status)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	must(t, err)
	must(t, os.WriteFile(to, b, 0o755))
}
