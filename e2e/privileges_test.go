package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/sandbox"
)

// needRoot skips a test that needs the daemon to run as root, and fails it
// under CI, which runs as root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI: the test needs root: the daemon must run as root to show that its plugins do not")
	}
	t.Skip("the test needs root")
}

// procStatus returns the fields of /proc/<pid>/status.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	must(t, err)
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	must(t, sc.Err())
	return m
}

// TestPluginPrivileges: a root daemon starts every plugin with no
// capabilities, no_new_privs and the seccomp filter, whatever its sandbox
// setting, and as another user when its block says so. The plugin then
// cannot set the host clock or open a raw socket, and, confined, cannot run
// a program it wrote. `plugin list` and /v1/plugins say what applies.
func TestPluginPrivileges(t *testing.T) {
	needRoot(t)
	abi, err := sandbox.ABI()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI: no Landlock on this kernel: %v", err)
		}
		t.Skipf("no Landlock on this kernel: %v", err)
	}
	// The plugin that runs as nobody passes through to its data directory
	// (t.TempDir's parent is not searchable by others).
	dir, err := os.MkdirTemp("", "aunsorm-e2e-privileges-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o711))
	d := startDaemon(t, daemonOpts{DataDir: dir, Plugins: map[string]string{
		"boxed":  "#kind=stderrspam\n  env = { SPAM_PREFIX = \"boxed\" }\n  sandbox = \"required\"",
		"nobody": "#kind=stderrspam\n  env = { SPAM_PREFIX = \"nobody\" }\n  sandbox = \"required\"\n  user = \"65534\"",
		"free":   "#kind=stderrspam\n  env = { SPAM_PREFIX = \"free\" }\n  sandbox = \"off\"",
	}})
	var list struct {
		Plugins []struct {
			Name        string
			PID         int
			Sandbox     string
			Confinement *sandbox.Confinement
		} `json:"plugins"`
	}
	resp := adminGet(t, d, "/v1/plugins")
	must(t, json.NewDecoder(resp.Body).Decode(&list))
	resp.Body.Close()
	wantIDs := map[string]string{"boxed": "0", "nobody": "65534", "free": "0"}
	wantABI := map[string]int{"boxed": abi, "nobody": abi, "free": 0}
	if len(list.Plugins) != len(wantIDs) {
		t.Fatalf("/v1/plugins: %+v", list.Plugins)
	}
	for _, p := range list.Plugins {
		t.Run(p.Name, func(t *testing.T) {
			st := procStatus(t, p.PID)
			for _, set := range []string{"CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"} {
				if st[set] != "0000000000000000" {
					t.Errorf("%s = %s, want 0", set, st[set])
				}
			}
			if st["NoNewPrivs"] != "1" || st["Seccomp"] != "2" {
				t.Errorf("NoNewPrivs %s, Seccomp %s; want 1 and 2", st["NoNewPrivs"], st["Seccomp"])
			}
			id := wantIDs[p.Name]
			for _, f := range []string{"Uid", "Gid"} {
				if got := strings.Fields(st[f]); len(got) != 4 || slices.ContainsFunc(got, func(s string) bool { return s != id }) {
					t.Errorf("%s = %q, want %s throughout", f, st[f], id)
				}
			}
			c := p.Confinement
			if c == nil || !c.Seccomp || !c.NoNewPrivs || c.Capabilities != "none" || strconv.Itoa(c.UID) != id ||
				strconv.Itoa(c.GID) != id || c.Landlock != wantABI[p.Name] {
				t.Errorf("confinement in /v1/plugins: %+v", c)
			}

			try := func(op string) map[string]any {
				t.Helper()
				r := do(t, "GET", d.url+"/"+p.Name+"/"+op, nil)
				if r.status != http.StatusOK {
					t.Fatalf("%s: %d %s", op, r.status, r.body)
				}
				return r.json
			}
			for _, op := range []string{"settime", "rawsocket"} {
				if e, _ := try(op)["error"].(string); !strings.Contains(e, "operation not permitted") {
					t.Errorf("%s: error %q, want operation not permitted", op, e)
				}
			}
			// W^X is Landlock's: the plugin without it may run what it wrote,
			// which shows the probe works.
			r := try("execwritten")
			e, _ := r["error"].(string)
			if p.Name == "free" {
				if e != "" || r["output"] != "ran\n" {
					t.Errorf("unconfined plugin running what it wrote: %v", r)
				}
			} else if !strings.Contains(e, "permission denied") {
				t.Errorf("confined plugin running what it wrote: %v, want permission denied", r)
			}
		})
	}

	out, err := exec.Command(bins.daemon, "plugin", "list", "-config", d.cfgPath).CombinedOutput()
	if err != nil {
		t.Fatalf("plugin list: %v\n%s", err, out)
	}
	seen := 0
	for _, l := range strings.Split(string(out), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		seen++
		want := []string{"on", "none", wantIDs[f[0]] + ":" + wantIDs[f[0]]}
		if f[0] == "free" {
			want = append(want, "off")
		} else {
			want = append(want, "landlock", "ABI", strconv.Itoa(abi))
		}
		if len(f) < len(want) || !slices.Equal(f[len(f)-len(want):], want) {
			t.Errorf("plugin list line %q, want it to end in %q", l, want)
		}
	}
	if seen != len(wantIDs) {
		t.Errorf("plugin list:\n%s", out)
	}
}

// TestConfigValidateRunAsUnprivileged: a daemon that cannot switch users
// (here config validate itself runs as nobody, without capabilities)
// refuses a plugin block that names a user, at the attribute.
func TestConfigValidateRunAsUnprivileged(t *testing.T) {
	needRoot(t)
	dir, err := os.MkdirTemp("", "aunsorm-e2e-runas-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	src := `data_dir = "./data"
plugin "crypto" {
  command = "` + bins.plugins["crypto"] + `"
  user = "65534"
}
`
	p := filepath.Join(dir, "aunsorm.hcl")
	must(t, os.WriteFile(p, []byte(src), 0o644))
	for _, tc := range []struct {
		name string
		cred *syscall.Credential
		ok   bool
		want string
	}{
		{"ok/root", nil, true, "configuration is valid"},
		{"fail/nobody", &syscall.Credential{Uid: 65534, Gid: 65534}, false,
			`aunsorm.hcl:4:10: Cannot run the plugin as another user: The daemon cannot switch plugin "crypto" to uid 65534 gid 65534: it lacks CAP_SETUID and CAP_SETGID.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bins.daemon, "config", "validate", "-config", p)
			cmd.Dir = dir
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: tc.cred}
			out, err := cmd.CombinedOutput()
			if (err == nil) != tc.ok || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit %v, want ok=%v and %q:\n%s", err, tc.ok, tc.want, out)
			}
		})
	}
}
