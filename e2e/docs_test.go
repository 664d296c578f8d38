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

// TestDocCommands runs, as written, the commands the documents give for
// a running daemon: the README's tour and operator commands, the admin
// API call in docs/operations.md, the snapshot check in
// docs/clock-attestation.md and each plugin README's examples. They run in
// a directory laid out like a checkout after `make build`, against the
// daemon started as `make run` starts it (config.hcl.example, data under
// ./data, the development CA it issues itself). Only the ports differ, so
// that the test runs beside others: the gateway's and the plugins'
// listeners are moved to free ones, in the config and in the commands.
func TestDocCommands(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the documents' commands need %s: %v", tool, err)
		}
	}
	dir, port := startAsMakeRun(t)
	port50010 := regexp.MustCompile(`\blocalhost:50010\b`)
	onPort := func(s string) string { return port50010.ReplaceAllString(s, "localhost:"+port) }

	t.Run("readme", func(t *testing.T) {
		readme := readText(t, "../README.md")
		cmds := append(shellCommands(onPort(shellBlock(t, readme, "## A two-minute tour"))),
			shellCommands(shellBlock(t, readme, "Operate it while it runs:"))...)
		outs := runShell(t, dir, docEnv(), cmds)
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
		// The operator commands each report on both plugins.
		for _, p := range []string{"crypto", "pqc"} {
			if re := regexp.MustCompile(`(?m)^` + p + `\s+` + p + `\s+\S+\s+running\s`); !re.MatchString(outputOf(cmds, outs, "plugin list")) {
				t.Errorf("plugin list does not show %s running:\n%s", p, outputOf(cmds, outs, "plugin list"))
			}
		}
		if out := outputOf(cmds, outs, "config validate"); !strings.Contains(out, "configuration is valid (2 plugins)") {
			t.Errorf("config validate printed %q", out)
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
	})

	t.Run("clock-attestation", func(t *testing.T) {
		// One script (a heredoc inside): the digest it prints is the
		// snapshot's fingerprint, and openssl accepts the signature.
		verify := shellBlock(t, readText(t, "../docs/clock-attestation.md"), "## Verifying a snapshot yourself")
		out := runShell(t, dir, docEnv(), []string{onPort(verify)})[0]
		var snap struct {
			Fingerprint string `json:"authority_fingerprint_hex"`
		}
		if b, err := os.ReadFile(filepath.Join(dir, "snap.json")); err != nil || json.Unmarshal(b, &snap) != nil || snap.Fingerprint == "" {
			t.Fatalf("the script's snap.json: %v %s", err, b)
		}
		if !strings.Contains(out, snap.Fingerprint+"  -\n") || !strings.Contains(out, "Signature Verified Successfully") {
			t.Errorf("the verification printed:\n%s\nwant the digest %s and a verified signature", out, snap.Fingerprint)
		}
	})

	t.Run("operations-admin", func(t *testing.T) {
		admin := shellCommands(shellBlock(t, readText(t, "../docs/operations.md"), "| `GET /v1/runtime` |"))
		var plugins struct {
			Plugins []struct{ Name, Status string }
		}
		out := runShell(t, dir, docEnv(), admin)[0]
		if err := json.Unmarshal([]byte(out), &plugins); err != nil {
			t.Fatalf("%s\nanswered %s", admin[0], out)
		}
		running := map[string]bool{}
		for _, p := range plugins.Plugins {
			running[p.Name] = p.Status == "running"
		}
		if len(running) != 2 || !running["crypto"] || !running["pqc"] {
			t.Errorf("%s\nanswered %s, want crypto and pqc running", admin[0], out)
		}
	})

	// Each plugin's README: its examples in order, in one shell.
	for _, tc := range []struct {
		plugin, marker string
		want           map[string]string // command containing key -> output containing value
	}{
		{"crypto", "The examples go through the gateway", map[string]string{
			"/crypto/decrypt": `"plaintext":"aGVsbG8"`,
			"/crypto/verify":  `"valid":true`,
			"/crypto/hmac":    `"mac":"`,
			"/crypto/hash":    `"digest":"`,
			"/derive-key":     `"key":"`,
			"random?bytes=32": `"bytes":32`,
			"/random/number":  `"min":1,"max":6`,
		}},
		{"pqc", "Examples through the gateway", map[string]string{
			"/pqc/capabilities":       `"algorithms"`,
			"/pqc/x-wing/keygen":      `"public_key":"`,
			"/pqc/ml-dsa/verify":      `"valid":true`,
			"/pqc/slh-dsa/sign":       `"signature":"`,
			"/pqc/ml-kem/decapsulate": `"shared_secret":"`,
		}},
	} {
		t.Run("plugins/"+tc.plugin+"/README", func(t *testing.T) {
			var cmds []string
			for _, b := range fencedBlocks(t, readText(t, "../plugins/"+tc.plugin+"/README.md"), tc.marker, "sh") {
				cmds = append(cmds, shellCommands(onPort(b))...)
			}
			outs := runShell(t, dir, docEnv(), cmds)
			for i, out := range outs {
				if out = strings.TrimSpace(out); out == "" {
					continue
				}
				var body map[string]any
				if err := json.Unmarshal([]byte(out), &body); err != nil || body["error"] != nil {
					t.Errorf("%s\nanswered %s", cmds[i], out)
				}
			}
			for what, want := range tc.want {
				if out := outputOf(cmds, outs, what); !strings.Contains(out, want) {
					t.Errorf("the command with %s answered %q, want %s", what, out, want)
				}
			}
			if enc := outputOf(cmds, outs, "/pqc/ml-kem/encapsulate"); enc != "" {
				var a, b struct {
					SharedSecret string `json:"shared_secret"`
				}
				_ = json.Unmarshal([]byte(enc), &a)
				_ = json.Unmarshal([]byte(outputOf(cmds, outs, "/pqc/ml-kem/decapsulate")), &b)
				if a.SharedSecret == "" || a.SharedSecret != b.SharedSecret {
					t.Errorf("encapsulate and decapsulate disagree: %q vs %q", a.SharedSecret, b.SharedSecret)
				}
			}
		})
	}
}

// startAsMakeRun lays out a directory like a checkout after `make build`
// (bin/ with the daemon and the plugins, config.hcl.example) and starts
// the daemon there as `make run` does, with the gateway and the plugins on
// free ports. It returns the directory and the gateway's port, once the
// gateway answers /health over TLS with the CA the daemon issued itself.
func startAsMakeRun(t *testing.T) (dir, port string) {
	t.Helper()
	dir = t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "bin"), 0o755))
	for name, src := range map[string]string{
		"aunsormd":              bins.daemon,
		"aunsorm-plugin-crypto": bins.plugins["crypto"],
		"aunsorm-plugin-pqc":    bins.plugins["pqc"],
	} {
		must(t, os.Symlink(src, filepath.Join(dir, "bin", name)))
	}
	example := readText(t, "../config.hcl.example")
	gw := freePort(t)
	_, port, _ = net.SplitHostPort(gw)
	cfg := strings.Replace(example, `"127.0.0.1:50010"`, fmt.Sprintf("%q", gw), 1)
	if cfg == example {
		t.Fatal("config.hcl.example no longer listens on 127.0.0.1:50010")
	}
	for _, p := range []string{"crypto", "pqc"} {
		line := fmt.Sprintf("command = %q", "bin/aunsorm-plugin-"+p)
		if !strings.Contains(cfg, line) {
			t.Fatalf("config.hcl.example has no line %s", line)
		}
		cfg = strings.Replace(cfg, line, fmt.Sprintf("%s\n  listen = %q", line, freePort(t)), 1)
	}
	must(t, os.WriteFile(filepath.Join(dir, "config.hcl.example"), []byte(cfg), 0o600))

	d := &daemon{t: t, dir: dir, cfgPath: filepath.Join(dir, "config.hcl.example")}
	cmd := exec.Command("./bin/aunsormd", "serve", "-config", "config.hcl.example")
	cmd.Dir, cmd.Env = dir, docEnv()
	d.start(cmd)
	waitHealthyTLS(t, d, filepath.Join(dir, "data", "tls", "ca.pem"), "https://localhost:"+port+"/health")
	return dir, port
}

// readText returns a file as a string.
func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docEnv is the test's environment without AUNSORM_* overrides: the
// documents' commands run on what their configuration says.
func docEnv() []string {
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
	return fencedBlocks(t, md, marker, "sh")[0]
}

// fencedBlocks returns the ```lang blocks (indented ones too) from marker
// to the next second-level heading of md.
func fencedBlocks(t *testing.T, md, marker, lang string) []string {
	t.Helper()
	i := strings.Index(md, marker)
	if i < 0 {
		t.Fatalf("document has no %q", marker)
	}
	section := md[i+len(marker):]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	var blocks []string
	for _, m := range fence.FindAllStringSubmatch(section, -1) {
		if m[2] != lang {
			continue
		}
		var b strings.Builder
		for _, line := range strings.SplitAfter(m[3], "\n") {
			b.WriteString(strings.TrimPrefix(line, m[1]))
		}
		blocks = append(blocks, b.String())
	}
	if len(blocks) == 0 {
		t.Fatalf("document has no %s block after %q", lang, marker)
	}
	return blocks
}

// fence matches a fenced code block: its indent, language and body.
var fence = regexp.MustCompile("(?ms)^([ \t]*)```(\\w*)\n(.*?)^[ \t]*```")

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
func runShell(t *testing.T, dir string, env []string, cmds []string) []string {
	t.Helper()
	const mark = "@@aunsorm-readme-end"
	var script strings.Builder
	for i, c := range cmds {
		fmt.Fprintf(&script, "%s\nstatus=$?; echo; echo \"%s %d $status\"\n", c, mark, i)
	}
	sh := exec.Command("bash", "-c", script.String())
	sh.Dir = dir
	sh.Env = env
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
	deadline := time.Now().Add(patience)
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

// TestPluginAuthoring follows docs/plugin-authoring.md from an empty
// folder to a pinned plugin answering through the gateway, with the
// guide's own code and commands: the module set up against this checkout
// as section 1 says, main.go and its test from sections 2 and 4, the
// build, the test run, the pin, the validation, the daemon and the call.
//
// Offline, one step differs: `go mod tidy` would also resolve the test
// dependencies of every dependency, which no test's module cache holds,
// so the module starts from the SDK's go.sum and the go commands resolve
// its requirements with -mod=mod from the cache.
func TestPluginAuthoring(t *testing.T) {
	doc := readText(t, "../docs/plugin-authoring.md")
	sdk, err := filepath.Abs("../sdk")
	if err != nil {
		t.Fatal(err)
	}
	goBlocks := fencedBlocks(t, doc, "## 2. Implement", "go")
	testBlocks := fencedBlocks(t, doc, "## 4. Test it without the daemon", "go")
	start := shellCommands(shellBlock(t, doc, "## 1. Start a module"))
	fromCheckout := shellCommands(shellBlock(t, doc, "Working from a checkout"))
	build := shellCommands(shellBlock(t, doc, "## 3. Build"))
	test := shellCommands(shellBlock(t, doc, "## 4. Test it without the daemon"))
	validate := shellCommands(shellBlock(t, doc, "## 5. Add it"))
	pin := shellCommands(shellBlock(t, doc, "## 6. Pin the binary"))
	pinned := fencedBlocks(t, doc, "## 6. Pin the binary", "hcl")[0]
	run := fencedBlocks(t, doc, "## 7. Run it and call it", "sh")
	if len(start) != 3 || !strings.HasPrefix(start[0], "mkdir aunsorm-plugin-hello && cd aunsorm-plugin-hello") ||
		len(fromCheckout) != 2 || fromCheckout[1] != "go mod tidy" || len(run) != 2 {
		t.Fatalf("docs/plugin-authoring.md changed shape; update this test:\n%q\n%q\n%q", start, fromCheckout, run)
	}

	work := t.TempDir()
	dir := filepath.Join(work, "aunsorm-plugin-hello")
	env := append(docEnv(), "PATH="+bins.dir+string(os.PathListSeparator)+os.Getenv("PATH"), "GOFLAGS=-mod=mod", "GOPROXY=off")
	runShell(t, work, env, []string{strings.SplitN(start[0], " && ", 2)[0]})
	must(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(goBlocks[0]), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "hello_test.go"), []byte(testBlocks[0]), 0o644))
	sum := readText(t, filepath.Join(sdk, "go.sum"))
	cmds := []string{start[1], strings.ReplaceAll(fromCheckout[0], "/path/to/aunsorm/sdk", sdk)}
	runShell(t, dir, env, cmds)
	must(t, os.WriteFile(filepath.Join(dir, "go.sum"), []byte(sum), 0o644))
	runShell(t, dir, env, append(build, test...))

	// Pin: both ways of taking the digest agree.
	outs := runShell(t, dir, env, pin)
	digest := strings.Fields(outs[0])[0]
	if len(outs) != 2 || len(digest) != 64 || strings.Fields(outs[1])[0] != digest {
		t.Fatalf("the two digests differ: %q", outs)
	}

	// config.hcl: a gateway on a free port with the development CA, and the
	// guide's pinned block with this build's digest and a free listener.
	gw := freePort(t)
	_, gwPort, _ := net.SplitHostPort(gw)
	block := regexp.MustCompile(`sha256\s*=\s*"[0-9a-f]{64}"`).ReplaceAllString(pinned, fmt.Sprintf("sha256  = %q", digest))
	block = strings.Replace(block, `"127.0.0.1:50040"`, fmt.Sprintf("%q", freePort(t)), 1)
	if !strings.Contains(block, digest) {
		t.Fatalf("the guide's pinned block has no sha256 line:\n%s", pinned)
	}
	// The guide's starter configuration (section 5) with a free gateway
	// port, its plugin block replaced by the pinned one.
	starter := fencedBlocks(t, doc, "## 5. Add it", "hcl")[0]
	i := strings.Index(starter, `plugin "hello"`)
	if i < 0 || !strings.Contains(starter[:i], `"127.0.0.1:50010"`) || !strings.Contains(starter[:i], "dev = true") {
		t.Fatalf("section 5's starter configuration changed shape; update this test:\n%s", starter)
	}
	cfg := strings.Replace(starter[:i], `"127.0.0.1:50010"`, fmt.Sprintf("%q", gw), 1) + block
	must(t, os.WriteFile(filepath.Join(dir, "config.hcl"), []byte(cfg), 0o600))
	if out := runShell(t, dir, env, validate)[0]; !strings.Contains(out, "configuration is valid (1 plugin") {
		t.Fatalf("%s printed:\n%s", validate[0], out)
	}

	// Run it, as section 7 says, and call it through the gateway.
	serve := shellCommands(run[0])
	if len(serve) != 1 || serve[0] != "aunsormd serve -config config.hcl" {
		t.Fatalf("section 7 runs %q; update this test", serve)
	}
	d := &daemon{t: t, dir: dir, cfgPath: filepath.Join(dir, "config.hcl")}
	cmd := exec.Command(bins.daemon, "serve", "-config", "config.hcl")
	cmd.Dir, cmd.Env = dir, env
	d.start(cmd)
	waitHealthyTLS(t, d, filepath.Join(dir, "data", "tls", "ca.pem"), "https://127.0.0.1:"+gwPort+"/health")
	call := strings.ReplaceAll(shellCommands(run[1])[0], "127.0.0.1:50010", "127.0.0.1:"+gwPort)
	out := runShell(t, dir, env, []string{call})[0]
	var greeting struct{ Greeting, ID, Time string }
	if err := json.Unmarshal([]byte(out), &greeting); err != nil || greeting.Greeting != "hello, Aunsorm" || len(greeting.ID) != 32 || greeting.Time == "" {
		t.Fatalf("%s\nanswered %s (%v)", call, out, err)
	}
	// Log lines below warn reach stdout in batches (log.flush_interval).
	ready := regexp.MustCompile(`"plugin":"hello","kind":"hello","version":"0.1.0","pid":\d+.*"message":"plugin ready"`)
	for deadline := time.Now().Add(patience); !ready.MatchString(d.logs.String()); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not log `plugin ready` with the plugin's name, kind, version and pid, as section 7 says")
		}
	}
}
