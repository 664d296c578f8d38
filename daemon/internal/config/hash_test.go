package config

import (
	"strings"
	"testing"
)

func TestPluginHash(t *testing.T) {
	const base = `
plugin "pqc" {
  command = "bin/aunsorm-plugin-pqc"
  args    = ["-a"]
  env     = { A = "1", B = "2" }
  config {
    strict = false
  }
}
plugin "crypto" {
  command = "bin/aunsorm-plugin-crypto"
}
`
	hashes := func(t *testing.T, src string, env map[string]string) map[string]string {
		t.Helper()
		c, diags := parseString(src, env)
		if diags.HasErrors() {
			t.Fatal(FormatDiagnostics(diags))
		}
		out := map[string]string{}
		for _, pl := range c.Plugins {
			if len(pl.Hash) != 64 {
				t.Fatalf("hash %q is not 64 hex characters", pl.Hash)
			}
			out[pl.Name] = pl.Hash
		}
		return out
	}
	want := hashes(t, base, nil)
	if want["pqc"] == want["crypto"] {
		t.Fatal("different blocks have the same hash")
	}

	tests := []struct {
		name       string
		src        string
		env        map[string]string
		pqcChanged bool
	}{
		{"ok/same-block", base, nil, false},
		{"ok/moved-block", "\n\n# comment\nrng {}\n" + base, nil, false},
		{"ok/other-block-changed", base + "plugin \"kms\" {\n  command = \"k\"\n}\n", nil, false},
		{"ok/env-order", `
plugin "pqc" {
  env     = { B = "2", A = "1" }
  args    = ["-a"]
  command = "bin/aunsorm-plugin-pqc"
  config {
    strict = false
  }
}
plugin "crypto" {
  command = "bin/aunsorm-plugin-crypto"
}
`, nil, false},
		{"ok/other-plugin-env", base, map[string]string{"AUNSORM_PLUGIN_CRYPTO_LISTEN": "127.0.0.1:6000"}, false},
		{"ok/config-body-changed", replace(base, "strict = false", "strict = true"), nil, true},
		{"ok/config-body-added", replace(base, "strict = false", "strict = false\n    extra = 1"), nil, true},
		{"ok/command-changed", replace(base, "bin/aunsorm-plugin-pqc", "bin/pqc2"), nil, true},
		{"ok/args-changed", replace(base, `["-a"]`, `["-a", "-b"]`), nil, true},
		{"ok/args-split", replace(base, `["-a"]`, `["-", "a"]`), nil, true},
		{"ok/env-value-changed", replace(base, `B = "2"`, `B = "3"`), nil, true},
		{"ok/listen-by-env", base, map[string]string{"AUNSORM_PLUGIN_PQC_LISTEN": "127.0.0.1:6000"}, true},
		{"ok/pin-added", replace(base, "args    = [\"-a\"]", "args = [\"-a\"]\n  sha256 = \""+zeros64+"\""), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hashes(t, tt.src, tt.env)
			_, cryptoEnv := tt.env["AUNSORM_PLUGIN_CRYPTO_LISTEN"]
			if changed := got["crypto"] != want["crypto"]; changed != cryptoEnv {
				t.Errorf("crypto hash changed = %v, want %v", changed, cryptoEnv)
			}
			if changed := got["pqc"] != want["pqc"]; changed != tt.pqcChanged {
				t.Errorf("pqc hash changed = %v, want %v", changed, tt.pqcChanged)
			}
		})
	}
}

const zeros64 = "0000000000000000000000000000000000000000000000000000000000000000"

func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("replace: " + old + " not found")
	}
	return strings.Replace(s, old, new, 1)
}
