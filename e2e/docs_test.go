package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDocCommands runs the README's tour, its operator commands and
// docs/clock-attestation.md's "verify a snapshot yourself" as written, in a directory laid out like a checkout after `make build`: the
// daemon started as `make run` starts it (config.hcl.example, data under
// ./data, the development CA it issues itself), then every command of the
// two shell blocks in one shell. Only the ports differ, so that the test
// runs beside others: the gateway's and the plugins' listeners are moved
// to free ones, in the config and in the commands alike.
func TestDocCommands(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README tour needs %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	tour := shellBlock(t, string(readme), "## A two-minute tour")
	operate := shellBlock(t, string(readme), "Operate it while it runs:")
	clockDoc, err := os.ReadFile("../docs/clock-attestation.md")
	if err != nil {
		t.Fatal(err)
	}
	verify := shellBlock(t, string(clockDoc), "## Verifying a snapshot yourself")

	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{
		"aunsormd":              bins.daemon,
		"aunsorm-plugin-crypto": bins.plugins["crypto"],
		"aunsorm-plugin-pqc":    bins.plugins["pqc"],
	} {
		if err := os.Symlink(src, filepath.Join(dir, "bin", name)); err != nil {
			t.Fatal(err)
		}
	}
	example, err := os.ReadFile("../config.hcl.example")
	if err != nil {
		t.Fatal(err)
	}
	gw := freePort(t)
	_, port, _ := net.SplitHostPort(gw)
	cfg := strings.Replace(string(example), `"127.0.0.1:50010"`, fmt.Sprintf("%q", gw), 1)
	for _, p := range []string{"crypto", "pqc"} {
		line := fmt.Sprintf("command = %q", "bin/aunsorm-plugin-"+p)
		if !strings.Contains(cfg, line) {
			t.Fatalf("config.hcl.example has no line %s", line)
		}
		cfg = strings.Replace(cfg, line, fmt.Sprintf("%s\n  listen = %q", line, freePort(t)), 1)
	}
	if cfg == string(example) || !strings.Contains(cfg, gw) {
		t.Fatal("config.hcl.example no longer listens on 127.0.0.1:50010")
	}
	if err := os.WriteFile(filepath.Join(dir, "config.hcl.example"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// make run: ./bin/aunsormd serve -config config.hcl.example
	d := &daemon{t: t, dir: dir, cfgPath: filepath.Join(dir, "config.hcl.example"), logs: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command("./bin/aunsormd", "serve", "-config", "config.hcl.example")
	d.cmd.Dir = dir
	d.cmd.Env = readmeEnv()
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exit = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("daemon log:\n%s", tail(d.logs.String(), 60))
		}
	})
	waitHealthyTLS(t, d, filepath.Join(dir, "data", "tls", "ca.pem"), "https://localhost:"+port+"/health")

	port50010 := regexp.MustCompile(`\blocalhost:50010\b`)
	cmds := append(shellCommands(port50010.ReplaceAllString(tour, "localhost:"+port)), shellCommands(operate)...)
	outs := runShell(t, dir, cmds)
	for i, c := range cmds {
		out := outs[i]
		switch {
		case strings.HasPrefix(c, "curl "):
			var body map[string]any
			if err := json.Unmarshal([]byte(out), &body); err != nil {
				t.Errorf("%s\nanswered something that is not a JSON object: %v\n%s", c, err, out)
				continue
			}
			_, isErr := body["error"]
			wantErr := strings.Contains(c, `"MD5"`)
			if isErr != wantErr {
				t.Errorf("%s\nanswered %s", c, out)
			}
			if wantErr {
				for _, k := range []string{"error_description", "request_id"} {
					if s, _ := body[k].(string); s == "" {
						t.Errorf("%s\nerror without %s: %s", c, k, out)
					}
				}
			}
		case strings.HasPrefix(c, "KEY="):
			// Checked by the encrypt command that uses $KEY.
		default:
			if strings.TrimSpace(out) == "" {
				t.Errorf("%s\nprinted nothing", c)
			}
		}
	}
	// The clock document's check is one script (a heredoc inside): the
	// digest it prints is the snapshot's fingerprint, and openssl accepts
	// the signature.
	out := runShell(t, dir, []string{port50010.ReplaceAllString(verify, "localhost:"+port)})[0]
	var snap struct {
		Fingerprint string `json:"authority_fingerprint_hex"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "snap.json")); err != nil || json.Unmarshal(b, &snap) != nil || snap.Fingerprint == "" {
		t.Fatalf("the clock document's snap.json: %v %s", err, b)
	}
	if !strings.Contains(out, snap.Fingerprint+"  -\n") || !strings.Contains(out, "Signature Verified Successfully") {
		t.Errorf("the clock document's verification printed:\n%s\nwant the digest %s and a verified signature", out, snap.Fingerprint)
	}

	// The operator commands each name what they report on.
	if want := "crypto"; !strings.Contains(outputOf(cmds, outs, "plugin list"), want) {
		t.Errorf("plugin list does not name %s:\n%s", want, outputOf(cmds, outs, "plugin list"))
	}
	// Nothing changed on disk: a reload leaves both plugins alone.
	for _, p := range []string{"crypto", "pqc"} {
		if re := regexp.MustCompile(`(?m)^` + p + `: unchanged \([^ ()]+\)$`); !re.MatchString(outputOf(cmds, outs, " reload ")) {
			t.Errorf("reload did not report %s unchanged:\n%s", p, outputOf(cmds, outs, " reload "))
		}
	}
	if !regexp.MustCompile(`\b[0-9a-f]{64}\b`).MatchString(outputOf(cmds, outs, "plugin sha256")) {
		t.Errorf("plugin sha256 printed no digest:\n%s", outputOf(cmds, outs, "plugin sha256"))
	}
}

// readmeEnv is the test's environment without AUNSORM_* overrides: the
// tour runs on what config.hcl.example says.
func readmeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUNSORM_") {
			env = append(env, kv)
		}
	}
	return env
}

// shellBlock returns the first ```sh block after marker in md.
func shellBlock(t *testing.T, md, marker string) string {
	t.Helper()
	i := strings.Index(md, marker)
	if i < 0 {
		t.Fatalf("README has no %q", marker)
	}
	rest := md[i:]
	start := strings.Index(rest, "```sh\n")
	if start < 0 {
		t.Fatalf("README has no shell block after %q", marker)
	}
	rest = rest[start+len("```sh\n"):]
	end := strings.Index(rest, "```")
	if end < 0 {
		t.Fatalf("README's shell block after %q does not end", marker)
	}
	return rest[:end]
}

// shellCommands splits a shell block into commands: comment and blank
// lines dropped, continuation lines joined.
func shellCommands(block string) []string {
	var cmds []string
	var cur strings.Builder
	for _, line := range strings.Split(block, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`))
			continue
		}
		cur.WriteString(trimmed)
		cmds = append(cmds, cur.String())
		cur.Reset()
	}
	return cmds
}

// runShell runs cmds in one bash (so a variable set by one is seen by the
// next) in dir, and returns each command's standard output. A command
// that exits non-zero fails the test.
func runShell(t *testing.T, dir string, cmds []string) []string {
	t.Helper()
	const mark = "@@aunsorm-readme-end"
	var script strings.Builder
	for i, c := range cmds {
		fmt.Fprintf(&script, "%s\nstatus=$?; echo; echo \"%s %d $status\"\n", c, mark, i)
	}
	sh := exec.Command("bash", "-c", script.String())
	sh.Dir = dir
	sh.Env = readmeEnv()
	var stderr syncBuffer
	sh.Stderr = &stderr
	out, err := sh.Output()
	if err != nil {
		t.Fatalf("the README's commands: %v\n%s", err, stderr.String())
	}
	outs := make([]string, len(cmds))
	var cur strings.Builder
	n := 0
	for _, line := range strings.SplitAfter(string(out), "\n") {
		var i, status int
		if _, err := fmt.Sscanf(line, mark+" %d %d", &i, &status); err == nil {
			if i != n {
				t.Fatalf("the README's commands ran out of order (%d after %d)", i, n)
			}
			if status != 0 {
				t.Errorf("%s\nexited %d: %s\n%s", cmds[i], status, cur.String(), tail(stderr.String(), 20))
			}
			outs[i] = cur.String()
			cur.Reset()
			n++
			continue
		}
		cur.WriteString(line)
	}
	if n != len(cmds) {
		t.Fatalf("only %d of the README's %d commands ran\n%s", n, len(cmds), stderr.String())
	}
	return outs
}

// outputOf returns the output of the command containing what.
func outputOf(cmds, outs []string, what string) string {
	for i, c := range cmds {
		if strings.Contains(c, what) {
			return outs[i]
		}
	}
	return ""
}

// waitHealthyTLS waits for the development CA the daemon issues on first
// start, then for 200 from url verified against it.
func waitHealthyTLS(t *testing.T, d *daemon, caFile, url string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-d.done:
			t.Fatalf("daemon exited: %v\n%s", d.exit, tail(d.logs.String(), 40))
		default:
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			continue
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			continue // still being written
		}
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
		resp, err := c.Get(url)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
	}
	t.Fatalf("daemon not healthy at %s within 15s\n%s", url, tail(d.logs.String(), 40))
}
