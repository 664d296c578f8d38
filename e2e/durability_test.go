package e2e

import (
	"encoding/json"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestAuditSurvivesDaemonKill: every audit append the daemon acknowledged
// to a plugin is in the log after kill -9 of the daemon in the middle of
// concurrent appends, with the hash the plugin was given, and the chain
// still verifies and grows after the restart.
func TestAuditSurvivesDaemonKill(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{
		"caller": "#kind=stderrspam\n  env = { DECLARE_HOST_SERVICES = \"1\", SPAM_PREFIX = \"caller\" }",
	}})
	type receipt struct {
		Seq  uint64 `json:"audit_seq"`
		Hash string `json:"audit_hash"`
	}
	var (
		mu    sync.Mutex
		acked []receipt
		wg    sync.WaitGroup
	)
	nAcked := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				resp, err := client.Get(d.url + "/caller/call")
				if err != nil {
					return // the daemon is gone
				}
				var out struct {
					Audit string `json:"audit"`
					receipt
				}
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					return
				}
				if out.Audit != "ok" || out.Hash == "" {
					t.Errorf("append not acknowledged: %+v", out)
					return
				}
				mu.Lock()
				acked = append(acked, out.receipt)
				mu.Unlock()
			}
		}()
	}
	for deadline := time.Now().Add(patience); nAcked() < 40; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d appends acknowledged in %s", nAcked(), patience)
		}
	}
	// Appends are still in flight: no drain, no close, no checkpoint.
	must(t, syscall.Kill(d.cmd.Process.Pid, syscall.SIGKILL))
	wg.Wait()
	d2 := d.restart()

	recs := auditLog(t, d2)
	bySeq := map[uint64]auditEvent{}
	for _, r := range recs {
		bySeq[r.Seq] = r
	}
	mu.Lock()
	defer mu.Unlock()
	var last uint64
	for _, a := range acked {
		r, ok := bySeq[a.Seq]
		if !ok {
			t.Fatalf("acknowledged append #%d lost after kill -9 (%d acknowledged, %d records)", a.Seq, len(acked), len(recs))
		}
		if r.Hash != a.Hash || r.Action != "test.call" || r.Source != "caller" {
			t.Fatalf("record #%d is not the acknowledged one: got %s %s/%s, acknowledged hash %s", a.Seq, r.Hash, r.Source, r.Action, a.Hash)
		}
		last = max(last, a.Seq)
	}
	t.Logf("%d appends acknowledged before kill -9, all present among %d records", len(acked), len(recs))

	// The chain goes on from where it stopped.
	r := do(t, "GET", d2.url+"/caller/call", nil)
	seq, _ := r.json["audit_seq"].(float64)
	if r.status != 200 || r.json["audit"] != "ok" || uint64(seq) <= last {
		t.Fatalf("append after restart: %d %s", r.status, r.body)
	}
	prev := bySeq[uint64(seq)-1]
	after := auditLog(t, d2)
	if got := after[len(after)-1]; got.Seq != uint64(seq) || got.PrevHash != prev.Hash {
		t.Fatalf("append after restart does not chain on the last record: %+v (previous %+v)", got, prev)
	}
}
