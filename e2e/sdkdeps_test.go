package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hostOnly are packages a plugin binary must not link: the host side of the
// plugin protocol (sdk/pluginhost), the Landlock sandbox the daemon applies
// to plugins, and hashicorp/go-plugin, whose client and process runner only
// the daemon needs (sdk/plugin speaks the protocol itself).
var hostOnly = []string{
	"github.com/aunsorm/aunsorm/sdk/pluginhost",
	"github.com/aunsorm/aunsorm/sdk/sandbox",
	"github.com/hashicorp/go-plugin",
	"github.com/hashicorp/go-plugin/runner",
	"github.com/hashicorp/go-plugin/internal/cmdrunner",
	"github.com/hashicorp/go-hclog",
}

// TestPluginBinariesLinkNoHostSide lists the dependency graph of every
// plugin binary the project ships (and of the SDK's example) and fails
// when one of them links a host-only package.
func TestPluginBinariesLinkNoHostSide(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, pkg string }{
		{root, "./plugins/crypto"},
		{root, "./plugins/pqc"},
		{filepath.Join(root, "sdk"), "./examples/echo"},
	} {
		t.Run("ok/"+c.pkg, func(t *testing.T) {
			deps := goListDeps(t, c.dir, c.pkg)
			if len(deps) < 10 {
				t.Fatalf("go list -deps %s named only %d packages: %v", c.pkg, len(deps), deps)
			}
			if !deps["github.com/aunsorm/aunsorm/sdk/plugin"] {
				t.Fatalf("%s does not link sdk/plugin: the check would prove nothing", c.pkg)
			}
			for _, p := range hostOnly {
				if deps[p] {
					t.Errorf("%s links %s, which only the daemon may link", c.pkg, p)
				}
			}
		})
	}
	// A plugin that keeps no state links no database driver: the store's
	// opener lives in sdk/store, not on plugin.Env. The ledger example,
	// which keeps state, shows the check would see them.
	drivers := []string{"modernc.org/sqlite", "github.com/jackc/pgx/v5/stdlib"}
	for _, c := range []struct {
		dir, pkg string
		stateful bool
	}{
		{root, "./plugins/crypto", false},
		{root, "./plugins/pqc", false},
		{filepath.Join(root, "sdk"), "./examples/echo", false},
		{filepath.Join(root, "sdk"), "./examples/ledger", true},
	} {
		name := "ok/no-driver/" + c.pkg
		if c.stateful {
			name = "ok/drivers/" + c.pkg
		}
		t.Run(name, func(t *testing.T) {
			deps := goListDeps(t, c.dir, c.pkg)
			for _, p := range drivers {
				if deps[p] != c.stateful {
					t.Errorf("%s links %s: %v, want %v", c.pkg, p, deps[p], c.stateful)
				}
			}
		})
	}
	// The check itself: the daemon links all of them.
	t.Run("fail/daemon-links-host-side", func(t *testing.T) {
		deps := goListDeps(t, root, "./daemon")
		for _, p := range []string{hostOnly[0], hostOnly[1], hostOnly[3]} {
			if !deps[p] {
				t.Errorf("the daemon does not link %s: is the package list stale?", p)
			}
		}
	})
}

func goListDeps(t *testing.T, dir, pkg string) map[string]bool {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	deps := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		deps[l] = true
	}
	return deps
}
