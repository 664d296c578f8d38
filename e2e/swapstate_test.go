package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ledgerV2Version is the version string of the ledger's generation 2 build.
const ledgerV2Version = "0.2.0-schema2"

// Versions the gateway reports for the two ledger builds.
const (
	ledgerV1Header = "aunsorm-ledger/0.1.0"
	ledgerV2Header = "aunsorm-ledger/" + ledgerV2Version
)

// swapStateMaxRequests bounds the load of TestSwapStateUnderLoad: the test
// moves on by counting acknowledged writes, never by time, and this cap
// ends a run that stopped making progress.
const swapStateMaxRequests = 50000

// ledgerLoad writes fresh keys through the gateway from a few workers and
// reads back what was acknowledged. Every key is written once, so its
// acknowledged value is the only right answer to a later read.
type ledgerLoad struct {
	url           string
	issued, acked atomic.Int64
	failed        atomic.Int64
	stop          atomic.Bool
	mu            sync.Mutex
	written       map[string]string // acknowledged key -> value
	versions      []string          // transitions of X-Aunsorm-Plugin
	errors        []string
	client        *http.Client
	wg            sync.WaitGroup
}

func newLedgerLoad(url string, workers int) *ledgerLoad {
	l := &ledgerLoad{url: url, written: map[string]string{}, client: &http.Client{Timeout: 30 * time.Second}}
	for w := range workers {
		l.wg.Go(func() { l.work(w) })
	}
	return l
}

// request sends one request; it returns the status (0 without an answer)
// and the body, and notes the answering version.
func (l *ledgerLoad) request(method, path string, body []byte) (int, []byte) {
	req, err := http.NewRequest(method, l.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error())
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v := resp.Header.Get("X-Aunsorm-Plugin"); v != "" && resp.StatusCode == 200 {
		l.mu.Lock()
		if len(l.versions) == 0 || l.versions[len(l.versions)-1] != v {
			l.versions = append(l.versions, v)
		}
		l.mu.Unlock()
	}
	return resp.StatusCode, b
}

func (l *ledgerLoad) fail(format string, args ...any) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.errors) < 20 {
		l.errors = append(l.errors, fmt.Sprintf(format, args...))
	}
	l.mu.Unlock()
}

// work alternates a write of a fresh key with a read of the key it wrote
// last.
func (l *ledgerLoad) work(w int) {
	last := ""
	for i := 0; !l.stop.Load() && l.issued.Add(1) <= swapStateMaxRequests; i++ {
		if i%2 == 1 && last != "" {
			status, body := l.request("GET", "/ledger/records/"+last, nil)
			if status != 200 || !bytes.Contains(body, []byte(`"value":"val-`+last+`"`)) {
				l.fail("GET %s: %d %s", last, status, body)
			}
			continue
		}
		key := fmt.Sprintf("w%d-%d", w, i)
		status, body := l.request("PUT", "/ledger/records/"+key, []byte(`{"value":"val-`+key+`"}`))
		if status != 200 {
			l.fail("PUT %s: %d %s", key, status, body)
			continue
		}
		l.mu.Lock()
		l.written[key] = "val-" + key
		l.mu.Unlock()
		l.acked.Add(1)
		last = key
	}
}

// waitAcked waits until n more writes than now are acknowledged.
func (l *ledgerLoad) waitAcked(t *testing.T, what string, n int64) {
	t.Helper()
	target := l.acked.Load() + n
	waitFor(t, what, patience, func() bool {
		if l.issued.Load() > swapStateMaxRequests {
			t.Fatalf("load ran out of its %d requests before %s", swapStateMaxRequests, what)
		}
		return l.acked.Load() >= target
	})
}

// checkWritten reads every acknowledged write back through the gateway.
func (l *ledgerLoad) checkWritten(t *testing.T, step string) {
	t.Helper()
	l.mu.Lock()
	written := make(map[string]string, len(l.written))
	for k, v := range l.written {
		written[k] = v
	}
	l.mu.Unlock()
	for k, v := range written {
		r := do(t, "GET", l.url+"/ledger/records/"+k, nil)
		var rec struct {
			Value   string `json:"value"`
			Version int64  `json:"version"`
		}
		if r.status != 200 || json.Unmarshal(r.body, &rec) != nil || rec.Value != v || rec.Version != 1 {
			t.Fatalf("after %s: acknowledged write %s = %d %s, want value %q", step, k, r.status, r.body, v)
		}
	}
	t.Logf("after %s: %d acknowledged writes read back", step, len(written))
}

// reloadTo points the ledger's block at another binary and reloads.
func reloadTo(t *testing.T, d *daemon, from, to, want string) {
	t.Helper()
	setPluginCommand(t, d, from, to)
	out, err := exec.Command(bins.daemon, "reload", "-config", d.cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), want) {
		t.Fatalf("reload to %s: %v\n%s", to, err, out)
	}
}

// TestSwapStateUnderLoad swaps the stateful example from schema generation
// 1 to 2 (which migrates its store) and back to 1 while writes flow: no
// request fails, every acknowledged write reads back after each step, and
// generation 1 serves on the store generation 2 migrated. It runs on both
// storage engines: SQLite in the plugin's data directory, and the plugin's
// schema of a PostgreSQL database.
func TestSwapStateUnderLoad(t *testing.T) {
	engines := []struct {
		name    string
		storage func(t *testing.T) string
	}{
		{"ok/sqlite", func(*testing.T) string { return "" }},
		{"ok/postgres", func(t *testing.T) string { return pgStorage(pg.Get(t).NewDatabase(t)) }},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { swapStateUnderLoad(t, e.storage(t)) })
	}
}

func swapStateUnderLoad(t *testing.T, storage string) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"ledger": ledgerBlock}, Storage: storage})
	l := newLedgerLoad(d.url, 4)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			l.stop.Store(true)
			l.wg.Wait()
		}
	}
	defer stop()

	l.waitAcked(t, "writes on generation 1", 100)
	l.checkWritten(t, "generation 1")

	// Forward: the new process migrates the store while the old one still
	// has it open and serves.
	reloadTo(t, d, bins.plugins["ledger"], bins.plugins["ledger-v2"], "ledger: swapped (0.1.0 -> "+ledgerV2Version+")")
	l.waitAcked(t, "writes on generation 2", 100)
	l.checkWritten(t, "swap to generation 2")
	r := do(t, "PUT", d.url+"/ledger/records/sealed-1", map[string]string{"value": "plain", "secret": "s3cr3t"})
	if r.status != 200 || r.header.Get("X-Aunsorm-Plugin") != ledgerV2Header {
		t.Fatalf("generation 2 secret write: %d %s %s", r.status, r.header.Get("X-Aunsorm-Plugin"), r.body)
	}
	if r := do(t, "GET", d.url+"/ledger/records/sealed-1", nil); r.status != 200 || !bytes.Contains(r.body, []byte(`"secret":"s3cr3t"`)) {
		t.Fatalf("generation 2 secret read: %d %s", r.status, r.body)
	}

	// Rollback: generation 1 starts on a store one migration ahead of it.
	reloadTo(t, d, bins.plugins["ledger-v2"], bins.plugins["ledger"], "ledger: swapped ("+ledgerV2Version+" -> 0.1.0)")
	l.waitAcked(t, "writes after the rollback", 100)
	stop()
	l.checkWritten(t, "rollback to generation 1")

	r = do(t, "GET", d.url+"/ledger/records/sealed-1", nil)
	if r.status != 200 || r.header.Get("X-Aunsorm-Plugin") != ledgerV1Header ||
		!bytes.Contains(r.body, []byte(`"value":"plain"`)) || bytes.Contains(r.body, []byte("s3cr3t")) {
		t.Fatalf("generation 1 reading a generation 2 row: %d %s %s", r.status, r.header.Get("X-Aunsorm-Plugin"), r.body)
	}
	r = do(t, "PUT", d.url+"/ledger/records/after-rollback", map[string]string{"value": "v1"})
	if r.status != 200 || r.header.Get("X-Aunsorm-Plugin") != ledgerV1Header {
		t.Fatalf("generation 1 write after the rollback: %d %s", r.status, r.body)
	}
	wantError(t, do(t, "PUT", d.url+"/ledger/records/after-rollback", map[string]string{"value": "v1", "secret": "x"}), 400, "invalid_request")

	t.Logf("requests=%d acked writes=%d failed=%d versions=%v", l.issued.Load(), l.acked.Load(), l.failed.Load(), l.versions)
	if n := l.failed.Load(); n != 0 {
		t.Fatalf("%d requests failed across the swaps: %v", n, l.errors)
	}
	// Responses moved from generation 1 to 2 and back (a response of the
	// draining process may land after the first of the new one).
	if len(l.versions) < 3 || l.versions[0] != ledgerV1Header || l.versions[len(l.versions)-1] != ledgerV1Header || !slices.Contains(l.versions, ledgerV2Header) {
		t.Fatalf("versions seen: %v", l.versions)
	}
}
