package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	// Registers the "sqlite" driver, to tamper with the audit database.
	_ "github.com/aunsorm/aunsorm/sdk/store"
)

// adminPlugins reads GET /v1/plugins.
func adminPlugins(t testing.TB, d *daemon) map[string]map[string]any {
	t.Helper()
	resp := adminGet(t, d, "/v1/plugins")
	defer resp.Body.Close()
	var v struct {
		Plugins []map[string]any `json:"plugins"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&v))
	out := map[string]map[string]any{}
	for _, p := range v.Plugins {
		out[p["name"].(string)] = p
	}
	return out
}

// cli runs aunsormd with args and returns stdout, stderr and the exit code.
func cli(t testing.TB, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bins.daemon, args...)
	cmd.Dir = dir
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	}
	must(t, err)
	return o.String(), e.String(), 0
}

// waitFor polls cond every 50 ms until it holds or the deadline passes
// (a bound on how long to wait, never an assertion on timing).
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestReloadAllOrNothing: a reload of a file whose pqc block is invalid
// changes nothing, not even the crypto swap the same file asks for; the
// diagnostic is printed once, as config validate prints it. Once the file
// is fixed, the same reload applies.
func TestReloadAllOrNothing(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": "", "pqc": ""}})
	pqcPID := adminPlugins(t, d)["pqc"]["pid"]
	src, err := os.ReadFile(d.cfgPath)
	must(t, err)
	swapped := strings.Replace(string(src), `command = "`+bins.plugins["crypto"]+`"`, `command = "`+bins.plugins["crypto-v2"]+`"`, 1)
	bad := strings.Replace(swapped, `command = "`+bins.plugins["pqc"]+`"`, `command = "`+bins.plugins["pqc"]+`"
  config {
    max_body_bytes = 1
  }`, 1)
	must(t, os.WriteFile(d.cfgPath, []byte(bad), 0o600))

	stdout, stderr, code := cli(t, d.dir, "reload", "-config", d.cfgPath)
	if code != 1 || !strings.Contains(stderr, "reload refused: the configuration has errors; nothing was changed") {
		t.Fatalf("reload: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	diag := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(d.cfgPath) + `:\d+:\d+: .*max_body_bytes.*$`)
	mentions := 0
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "max_body_bytes") {
			mentions++
		}
	}
	if n := len(diag.FindAllString(stderr, -1)); n != 1 || mentions != 1 {
		t.Fatalf("want the diagnostic once, on its own line as config validate prints it:\n%s", stderr)
	}
	if stdout != "" {
		t.Fatalf("a refused reload printed changes:\n%s", stdout)
	}
	r := do(t, "GET", d.url+"/crypto/random?bytes=4", nil)
	if r.status != 200 || r.header.Get("X-Aunsorm-Plugin") != "aunsorm-crypto/0.1.0" {
		t.Fatalf("crypto was swapped by a refused reload: %d %s", r.status, r.header.Get("X-Aunsorm-Plugin"))
	}
	if pid := adminPlugins(t, d)["pqc"]["pid"]; pid != pqcPID {
		t.Fatalf("pqc was restarted by a refused reload: pid %v -> %v", pqcPID, pid)
	}
	recs := auditLog(t, d)
	if len(findAudit(recs, "plugin.swap")) != 0 || len(findAudit(recs, "plugin.rollback")) != 0 {
		t.Fatalf("a refused reload touched a plugin: %+v", recs)
	}
	if rej := findAudit(recs, "config.reload"); len(rej) != 1 || rej[0].Outcome != "rejected" {
		t.Fatalf("config.reload records: %+v", rej)
	}

	must(t, os.WriteFile(d.cfgPath, []byte(swapped), 0o600))
	stdout, stderr, code = cli(t, d.dir, "reload", "-config", d.cfgPath)
	if code != 0 || !strings.Contains(stdout, "crypto: swapped (0.1.0 -> 2.0.0-swapped)") || !strings.Contains(stdout, "pqc: unchanged") {
		t.Fatalf("reload of the fixed file: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestCrashLoopKeepsRetrying: a plugin that crashes more than max_crashes
// times is marked failed, plugin list shows when the next attempt is
// (not pid 0 and uptime 0s), and the supervisor brings it back without a
// reload.
func TestCrashLoopKeepsRetrying(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": "  max_crashes = 1\n  crash_window = \"10m\"\n  backoff_max = \"5s\""}})
	kill := func() {
		pid := int(adminPlugins(t, d)["crypto"]["pid"].(float64))
		if pid == 0 {
			t.Fatal("crypto has no process")
		}
		must(t, syscall.Kill(pid, syscall.SIGKILL))
		waitFor(t, "the crash to be noticed", 30*time.Second, func() bool {
			p := adminPlugins(t, d)["crypto"]
			return p["pid"].(float64) != float64(pid)
		})
	}
	kill() // the first crash: relaunched at once
	waitFor(t, "crypto running again", 30*time.Second, func() bool { return adminPlugins(t, d)["crypto"]["status"] == "running" })
	kill() // the second within the window: a crash loop
	var list string
	waitFor(t, "plugin list to show the crash loop", 30*time.Second, func() bool {
		list, _, _ = cli(t, d.dir, "plugin", "list", "-config", d.cfgPath)
		return strings.Contains(list, "crypto: failed") || adminPlugins(t, d)["crypto"]["restarts"].(float64) >= 2
	})
	if !regexp.MustCompile(`crypto: failed: crashed more than 1 times within 10m0s; next attempt at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in [0-9.]+m?s\)`).MatchString(list) {
		t.Fatalf("plugin list during the back-off:\n%s", list)
	}
	if row := regexp.MustCompile(`(?m)^crypto\s.*$`).FindString(list); !regexp.MustCompile(`\sfailed\s+-\s+1\s+-\s`).MatchString(row) {
		t.Fatalf("the table row should show status failed, no pid, no uptime: %q", row)
	}
	waitFor(t, "the supervisor to bring crypto back without a reload", 60*time.Second, func() bool {
		p := adminPlugins(t, d)["crypto"]
		return p["status"] == "running" && p["restarts"].(float64) == 2
	})
	if r := do(t, "GET", d.url+"/crypto/random?bytes=4", nil); r.status != 200 {
		t.Fatalf("after the back-off: %d %s", r.status, r.body)
	}
	recs := auditLog(t, d)
	if f := findAudit(recs, "plugin.failed"); len(f) != 1 || f[0].Details["next_attempt_in_ms"] != float64(5000) {
		t.Fatalf("plugin.failed records: %+v", f)
	}
}

// TestAuditCommands drives aunsormd audit list|tail|verify against a
// running daemon: filters, JSON output, follow, and a tampered record
// named by verify.
func TestAuditCommands(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}})
	run := func(sub string) (string, string, int) {
		return cli(t, d.dir, "audit", sub, "-config", d.cfgPath)
	}
	if out, errOut, code := cli(t, d.dir, "plugin", "reload", "-config", d.cfgPath, "crypto"); code != 0 {
		t.Fatalf("plugin reload: %d %s%s", code, out, errOut)
	}
	t.Run("ok/list-source-and-family", func(t *testing.T) {
		out, errOut, code := cli(t, d.dir, "audit", "list", "-config", d.cfgPath, "-source", "daemon", "-action", "plugin.*")
		if code != 0 || !strings.HasPrefix(out, "SEQ ") || !strings.Contains(out, "plugin.start") || !strings.Contains(out, "plugin.swap") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("ok/list-json", func(t *testing.T) {
		out, errOut, code := cli(t, d.dir, "audit", "list", "-config", d.cfgPath, "-action", "plugin.swap", "-json")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var rec auditEvent
		if code != 0 || len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &rec) != nil || rec.Action != "plugin.swap" || rec.Subject != "crypto" || rec.Hash == "" {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("ok/list-time-range", func(t *testing.T) {
		out, errOut, code := cli(t, d.dir, "audit", "list", "-config", d.cfgPath, "-until", "2000-01-01T00:00:00Z")
		if code != 0 || out != "" || !strings.Contains(errOut, "no matching audit records") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		out, _, code = cli(t, d.dir, "audit", "list", "-config", d.cfgPath, "-since", "1h", "-action", "plugin.start")
		if code != 0 || !strings.Contains(out, "plugin.start") {
			t.Fatalf("-since 1h: exit %d\n%s", code, out)
		}
	})
	t.Run("fail/bad-time", func(t *testing.T) {
		out, errOut, code := cli(t, d.dir, "audit", "list", "-config", d.cfgPath, "-since", "yesterday")
		if code != 1 || !strings.Contains(errOut, "RFC 3339") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("ok/tail-last", func(t *testing.T) {
		out, errOut, code := cli(t, d.dir, "audit", "tail", "-config", d.cfgPath, "-n", "1")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 2 || !strings.Contains(lines[1], "plugin.swap") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("ok/tail-follow", func(t *testing.T) {
		cmd := exec.Command(bins.daemon, "audit", "tail", "-config", d.cfgPath, "-f", "-action", "plugin.swap", "-json")
		stdout, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		lines := make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		next := func() auditEvent {
			t.Helper()
			select {
			case l, ok := <-lines:
				var rec auditEvent
				if !ok || json.Unmarshal([]byte(l), &rec) != nil {
					t.Fatalf("tail -f: %q", l)
				}
				return rec
			case <-time.After(60 * time.Second):
				t.Fatal("tail -f printed nothing")
			}
			return auditEvent{}
		}
		first := next()
		if out, errOut, code := cli(t, d.dir, "plugin", "reload", "-config", d.cfgPath, "crypto"); code != 0 {
			t.Fatalf("plugin reload: %d %s%s", code, out, errOut)
		}
		if second := next(); second.Action != "plugin.swap" || second.Seq <= first.Seq {
			t.Fatalf("followed %+v after %+v", second, first)
		}
		must(t, cmd.Process.Signal(os.Interrupt))
		if err := cmd.Wait(); err != nil {
			t.Fatalf("tail -f after an interrupt: %v", err)
		}
	})
	t.Run("ok/verify", func(t *testing.T) {
		out, errOut, code := run("verify")
		if code != 0 || !regexp.MustCompile(`^audit chain verifies: \d+ records\n$`).MatchString(out) {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("fail/verify-names-first-bad-record", func(t *testing.T) {
		db, err := sql.Open("sqlite", filepath.Join(d.dir, "data", "audit", "audit.db"))
		must(t, err)
		_, err = db.Exec(`UPDATE audit_log SET outcome = 'forged' WHERE seq = 2`)
		db.Close()
		must(t, err)
		out, errOut, code := run("verify")
		if code != 1 || !strings.Contains(out, "audit chain broken at record 2: ") || !strings.Contains(out, "records 1 to 1 verify") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		_, errOut, code = run("list")
		if code != 0 || !strings.Contains(errOut, "the audit chain does not verify after record 1") {
			t.Fatalf("list after tampering: exit %d\n%s", code, errOut)
		}
	})
}

// TestAdminCommandsSayWhatToPass: without -config and without config.hcl
// the admin commands say what to pass instead of failing to read a file.
func TestAdminCommandsSayWhatToPass(t *testing.T) {
	for _, args := range [][]string{{"plugin", "list"}, {"reload"}, {"plugin", "reload", "crypto"}, {"audit", "list"}} {
		t.Run("fail/"+strings.Join(args, "-"), func(t *testing.T) {
			out, errOut, code := cli(t, t.TempDir(), args...)
			if code != 1 || out != "" || !strings.Contains(errOut, "pass the file the daemon was started with (-config") || !strings.Contains(errOut, "-socket") {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
		})
	}
}

// TestAdminTokenFileRules: config validate and serve refuse the same
// token files with the same words: readable by others, or too short.
func TestAdminTokenFileRules(t *testing.T) {
	tests := []struct {
		name, token string
		mode        os.FileMode
		want        string
	}{
		{"fail/readable-by-others", "0123456789abcdef0123456789", 0o644, "is accessible by group or others (mode 0644); chmod 600 it"},
		{"fail/readable-by-group", "0123456789abcdef0123456789", 0o640, "is accessible by group or others (mode 0640)"},
		{"fail/short", "abcde", 0o600, "has 5 characters; at least 16 are required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tok := filepath.Join(dir, "admin.token")
			must(t, os.WriteFile(tok, []byte(tc.token+"\n"), 0o600))
			must(t, os.Chmod(tok, tc.mode))
			cfg := filepath.Join(dir, "aunsorm.hcl")
			must(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir = %q
gateway {
  listen = %q
  tls {
    disabled = true
  }
}
admin {
  listen     = %q
  token_file = %q
}
`, filepath.Join(dir, "data"), freePort(t), freePort(t), tok)), 0o600))
			_, vErr, vCode := cli(t, dir, "config", "validate", "-config", cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			serve := exec.CommandContext(ctx, bins.daemon, "serve", "-config", cfg)
			sErr, err := serve.CombinedOutput()
			if vCode != 1 || !strings.Contains(vErr, tc.want) {
				t.Fatalf("config validate: exit %d\n%s", vCode, vErr)
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(sErr), tc.want) {
				t.Fatalf("serve: %v\n%s", err, sErr)
			}
			if strings.Contains(vErr+string(sErr), tc.token) {
				t.Fatal("the token is quoted in an error")
			}
		})
	}
}
