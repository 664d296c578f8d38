package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/sandbox"
)

// TestPluginSandbox: a confined plugin reaches its own data directory and
// nothing of the daemon's or another plugin's, while the same binary with
// sandbox = "off" reaches them all; `plugin list` says which is which.
func TestPluginSandbox(t *testing.T) {
	abi, err := sandbox.ABI()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI: no Landlock on this kernel: %v", err)
		}
		t.Skipf("no Landlock on this kernel: %v", err)
	}
	// The gateway's port is fixed first, so the config can name it.
	gw := freePort(t)
	_, gatewayPort, _ := net.SplitHostPort(gw)
	d := startDaemon(t, daemonOpts{GatewayAddr: gw, Plugins: map[string]string{
		"boxed":  "#kind=stderrspam\n  env = { SPAM_PREFIX = \"boxed\" }\n  sandbox = \"required\"",
		"caller": "#kind=stderrspam\n  env = { SPAM_PREFIX = \"caller\" }\n  sandbox = \"required\"\n  sandbox_connect = [" + gatewayPort + "]",
		"free":   "#kind=stderrspam\n  env = { SPAM_PREFIX = \"free\" }\n  sandbox = \"off\"",
	}})
	data := filepath.Join(d.dir, "data")
	// Something another plugin keeps in its own data directory.
	secret := filepath.Join(data, "plugins", "free", "secret")
	must(t, os.WriteFile(secret, []byte("free's key"), 0o600))

	try := func(plugin, op, path string) string {
		t.Helper()
		r := do(t, "GET", d.url+"/"+plugin+"/"+op+"?path="+url.QueryEscape(path), nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s %s %s: %d %s", plugin, op, path, r.status, r.body)
		}
		e, _ := r.json["error"].(string)
		return e
	}
	outside := map[string]string{
		"the daemon's audit log":    filepath.Join(data, "audit", "audit.db"),
		"the configuration file":    d.cfgPath,
		"another plugin's data":     secret,
		"the admin socket's token":  filepath.Join(data, "admin.sock.token"),
		"a system file not granted": "/etc/passwd",
	}
	for what, path := range outside {
		if e := try("boxed", "read", path); !strings.Contains(e, "permission denied") {
			t.Errorf("confined plugin reading %s (%s): error %q, want permission denied", what, path, e)
		}
		if e := try("free", "read", path); e != "" {
			t.Errorf("unconfined plugin reading %s: %s", what, e)
		}
	}
	if e := try("boxed", "write", filepath.Join(data, "plugins", "free", "planted")); !strings.Contains(e, "permission denied") {
		t.Errorf("confined plugin wrote into another plugin's data: %q", e)
	}
	own := filepath.Join(data, "plugins", "boxed", "note")
	if e := try("boxed", "write", own); e != "" {
		t.Fatalf("confined plugin writing its own data: %s", e)
	}
	if b, err := os.ReadFile(own); err != nil || string(b) != "written by /boxed" {
		t.Fatalf("own data: %q, %v", b, err)
	}
	if e := try("boxed", "read", own); e != "" {
		t.Fatalf("confined plugin reading its own data: %s", e)
	}
	// Temporary files go to its own directory, not the shared /tmp.
	r := do(t, "GET", d.url+"/boxed/tmp", nil)
	if r.status != http.StatusOK || r.json["error"] != nil || r.json["dir"] != filepath.Join(data, "plugins", "boxed", "tmp") {
		t.Fatalf("confined plugin's temporary files: %d %s", r.status, r.body)
	}

	// TCP: only the listed ports, and only on kernels that confine it.
	if abi >= 4 {
		gwAddr := strings.TrimPrefix(d.url, "http://")
		r := do(t, "GET", d.url+"/boxed/dial?addr="+url.QueryEscape(gwAddr), nil)
		if e, _ := r.json["error"].(string); !strings.Contains(e, "permission denied") {
			t.Errorf("confined plugin connecting to the gateway's port: %s", r.body)
		}
		if r := do(t, "GET", d.url+"/caller/dial?addr="+url.QueryEscape(gwAddr), nil); r.json["error"] != nil {
			t.Errorf("confined plugin connecting to a port it may use: %s", r.body)
		}
		if r := do(t, "GET", d.url+"/free/dial?addr="+url.QueryEscape(gwAddr), nil); r.json["error"] != nil {
			t.Errorf("unconfined plugin connecting: %s", r.body)
		}
	}

	out, err := exec.Command(bins.daemon, "plugin", "list", "-config", d.cfgPath).CombinedOutput()
	if err != nil {
		t.Fatalf("plugin list: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) > 0 && f[0] == "boxed" && !strings.HasSuffix(l, "landlock ABI "+strconv.Itoa(abi)):
			t.Errorf("plugin list for the confined plugin: %q", l)
		case len(f) > 0 && f[0] == "free" && !strings.HasSuffix(l, "off"):
			t.Errorf("plugin list for the unconfined plugin: %q", l)
		}
	}
	var list struct {
		Plugins []struct{ Name, Sandbox string } `json:"plugins"`
	}
	resp := adminGet(t, d, "/v1/plugins")
	defer resp.Body.Close()
	must(t, json.NewDecoder(resp.Body).Decode(&list))
	got := map[string]string{}
	for _, p := range list.Plugins {
		got[p.Name] = p.Sandbox
	}
	if got["boxed"] != "landlock ABI "+strconv.Itoa(abi) || got["free"] != "off" {
		t.Fatalf("sandbox in /v1/plugins: %v", got)
	}
}

// TestAdminSocketNeedsToken: the admin socket answers only with the token
// the daemon wrote beside it at start (mode 0600), which confined plugins
// cannot read (TestPluginSandbox).
func TestAdminSocketNeedsToken(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}})
	for _, auth := range []string{"", "Bearer ", "Bearer 00", "Basic x"} {
		req, _ := http.NewRequest("GET", "http://admin/v1/plugins", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := (&http.Client{Transport: unixTransport(d)}).Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("admin socket with Authorization %q: %d", auth, resp.StatusCode)
		}
	}
	st, err := os.Stat(filepath.Join(d.dir, "data", "admin.sock.token"))
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v", st.Mode().Perm())
	}
	resp := adminGet(t, d, "/v1/plugins")
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin socket with the token: %d", resp.StatusCode)
	}
}
