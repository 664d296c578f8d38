package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/pluginhost"
	"github.com/aunsorm/aunsorm/sdk/sandbox"
)

func TestConfigValidate(t *testing.T) {
	crypto := bins.plugins["crypto"]
	base := func(extra string) string {
		return `data_dir = "./data"
gateway {
  listen = "127.0.0.1:50910"
}
plugin "crypto" {
  command = "` + crypto + `"
  listen = "127.0.0.1:50912"
` + extra + `
}
`
	}
	tests := []struct {
		name string
		src  string
		ok   bool
		want []string // regexps that must appear in the output
	}{
		{"ok/minimal", base(""), true, []string{`configuration is valid \(1 plugin\)\n$`}},
		{"fail/unknown-attribute", "bogus = 1\n" + base(""), false, []string{`aunsorm\.hcl:1:1: .*bogus`}},
		{"fail/unknown-block", base("") + "frobnicate {\n}\n", false, []string{`aunsorm\.hcl:10:1: .*frobnicate`}},
		{"fail/wrong-type", strings.Replace(base(""), `listen = "127.0.0.1:50910"`, `listen = 5`, 1), false, []string{`aunsorm\.hcl:3:\d+: `}},
		{"fail/bad-duration", base("") + "clock {\n  max_age = \"soon\"\n}\n", false, []string{`aunsorm\.hcl:11:\d+: .*(duration|max_age)`}},
		{"fail/port-clash", strings.Replace(base(""), "50912", "50910", 1), false, []string{`aunsorm\.hcl:\d+:\d+: .*(clash|already|in use|same)`}},
		{"fail/missing-binary", strings.Replace(base(""), crypto, "/nonexistent/aunsorm-plugin-x", 1), false, []string{`aunsorm\.hcl:6:\d+: .*nonexistent`}},
		{"fail/bad-sha256", base(`  sha256 = "xyz"`), false, []string{`aunsorm\.hcl:8:\d+: .*sha256`}},
		{"fail/bad-sandbox-mode", base(`  sandbox = "strict"`), false, []string{`aunsorm\.hcl:8:\d+: .*sandbox must be one of auto, required, off`}},
		// The plugin is started confined as it would serve, so a path the
		// policy names but the machine lacks is found now, not at start.
		{"fail/sandbox-path-missing", base(`  sandbox_read = ["/nonexistent/hsm.so"]`), false, []string{`aunsorm\.hcl:\d+:\d+: .*sandbox: /nonexistent/hsm\.so: no such file`}},
		{"ok/sandbox-off", base(`  sandbox = "off"`), true, []string{`configuration is valid`}},
		// The plugin is started as the user it would serve as.
		{"ok/run-as-nobody", base(`  user = "65534"`), true, []string{`configuration is valid`}},
		{"fail/run-as-unknown-user", base(`  user = "no-such-user-aunsorm"`), false, []string{`aunsorm\.hcl:8:\d+: Unknown user: user "no-such-user-aunsorm"`}},
		// The plugin decodes its own block and reports positions in our file.
		{"fail/plugin-config-type", base("  config {\n    max_body_bytes = \"big\"\n  }"), false, []string{`aunsorm\.hcl:9:\d+: .*Inappropriate value for attribute "max_body_bytes": a number is required`}},
		{"fail/duplicate-plugin-block", base("") + "plugin \"crypto\" {\n  command = \"" + crypto + "\"\n}\n", false, []string{`aunsorm\.hcl:10:\d+: Duplicate plugin block: A plugin block named "crypto" is already defined at`}},
		{"fail/plugin-config-unknown", base("  config {\n\n    colour = \"blue\"\n  }"), false, []string{`aunsorm\.hcl:10:\d+: .*colour`}},
		{"fail/seal-two-sources", base("") + "seal {\n  key_file = \"/k\"\n  key_env = \"K\"\n}\n", false, []string{`aunsorm\.hcl:12:\d+: Conflicting seal settings`}},
		// The ring is read (never printed): an unset variable is an error.
		{"fail/seal-env-unset", base("") + "seal {\n  key_env = \"AUNSORM_E2E_NO_SUCH_SEAL_KEY\"\n}\n", false, []string{`Root sealing key \(seal block\): .*AUNSORM_E2E_NO_SUCH_SEAL_KEY is not set`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sandbox.ABI(); err != nil && strings.Contains(tc.name, "sandbox-path") {
				if os.Getenv("CI") != "" {
					t.Fatalf("CI: no Landlock on this kernel, so no confinement to check paths: %v", err)
				}
				t.Skipf("no Landlock on this kernel, so no confinement to check paths: %v", err)
			}
			if strings.HasPrefix(tc.name, "ok/run-as") {
				needRoot(t)
			}
			dir := t.TempDir()
			p := filepath.Join(dir, "aunsorm.hcl")
			must(t, os.WriteFile(p, []byte(tc.src), 0o600))
			cmd := exec.Command(bins.daemon, "config", "validate", "-config", p)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if tc.ok != (err == nil) {
				t.Fatalf("exit err=%v, want ok=%v\n%s", err, tc.ok, out)
			}
			if !tc.ok {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
					t.Fatalf("exit code: %v", err)
				}
			}
			for _, w := range tc.want {
				if !regexp.MustCompile(w).Match(out) {
					t.Fatalf("output lacks /%s/:\n%s", w, out)
				}
			}
			// One line per diagnostic: no blank line at the end, and a
			// duplicate block is not also reported as a port clash.
			if strings.HasSuffix(string(out), "\n\n") || strings.Contains(string(out), "\n\n") {
				t.Fatalf("blank line in the output:\n%q", out)
			}
			if strings.Contains(tc.name, "duplicate") && strings.Contains(string(out), "Port clash") {
				t.Fatalf("a duplicate block reported as a port clash:\n%s", out)
			}
			// Ending the validate-only plugin is not an error.
			if tc.ok && strings.Contains(string(out), `"level":"error"`) {
				t.Fatalf("a valid configuration logged an error:\n%s", out)
			}
		})
	}
}

// TestPluginVerify runs the conformance suite through the CLI.
func TestPluginVerify(t *testing.T) {
	out, err := exec.Command(bins.daemon, "plugin", "verify", "-kind", "crypto", bins.plugins["crypto"]).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "checks passed") || !strings.Contains(string(out), "sha256 = ") {
		t.Fatalf("verify crypto: %v\n%s", err, out)
	}
	out, err = exec.Command(bins.daemon, "plugin", "verify", "-kind", "pqc", bins.plugins["crypto"]).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "FAIL  describe") || !strings.Contains(string(out), "do not pin") {
		t.Fatalf("verify with the wrong kind: %v\n%s", err, out)
	}
	d, err := pluginhost.FileDigest(bins.plugins["crypto"])
	must(t, err)
	out, err = exec.Command(bins.daemon, "plugin", "sha256", bins.plugins["crypto"]).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), d+"  ") {
		t.Fatalf("plugin sha256: %v %s", err, out)
	}
}
