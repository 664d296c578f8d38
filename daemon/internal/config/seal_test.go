package config

import (
	"path/filepath"
	"testing"
)

func TestSeal(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want Seal
	}{
		{"ok/default-under-data-dir", `data_dir = "/var/lib/aunsorm"`, nil,
			Seal{Source: SealFile, KeyFile: filepath.Join("/var/lib/aunsorm", DefaultSealKeyFile)}},
		{"ok/default-follows-env-data-dir", ``, map[string]string{EnvDataDir: "/srv/a"},
			Seal{Source: SealFile, KeyFile: "/srv/a/seal/root.keys"}},
		{"ok/key-file", "seal {\n  key_file = \"/etc/aunsorm/root.keys\"\n}", nil,
			Seal{Source: SealFile, KeyFile: "/etc/aunsorm/root.keys"}},
		{"ok/key-env", "seal {\n  key_env = \"AUNSORM_SEAL_KEY\"\n}", nil,
			Seal{Source: SealEnv, KeyEnv: "AUNSORM_SEAL_KEY"}},
		{"ok/credential", "seal {\n  credential = \"aunsorm-seal.keys\"\n}", nil,
			Seal{Source: SealCredential, Credential: "aunsorm-seal.keys"}},
		{"ok/env-file-wins", "seal {\n  key_env = \"K\"\n}", map[string]string{EnvSealKeyFile: "/k/root.keys"},
			Seal{Source: SealFile, KeyFile: "/k/root.keys"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, diags := parseString(tc.src, tc.env)
			if diags.HasErrors() {
				t.Fatal(FormatDiagnostics(diags))
			}
			if c.Seal != tc.want {
				t.Fatalf("Seal = %+v, want %+v", c.Seal, tc.want)
			}
		})
	}
}

func TestSealErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want []string
	}{
		{"fail/two-sources", "seal {\n  key_file = \"/k\"\n  key_env = \"K\"\n}", nil,
			[]string{"t.hcl:3:13: Conflicting seal settings"}},
		{"fail/env-name", "seal {\n  key_env = \"NOT-A-NAME\"\n}", nil,
			[]string{"t.hcl:2:13: Invalid key_env"}},
		{"fail/empty-env-name", "seal {\n  key_env = \"\"\n}", nil,
			[]string{"t.hcl:2:13: Invalid key_env"}},
		{"fail/credential-path", "seal {\n  credential = \"../etc/shadow\"\n}", nil,
			[]string{"t.hcl:2:16: Invalid credential"}},
		{"fail/empty-key-file", "seal {\n  key_file = \"\"\n}", nil,
			[]string{"t.hcl:2:14: Invalid key_file"}},
		{"fail/type", "seal {\n  key_file = 3\n}", nil,
			[]string{"t.hcl:2:14: Incorrect attribute value type"}},
		{"fail/unknown-attribute", "seal {\n  key = \"x\"\n}", nil,
			[]string{"t.hcl:2:3: Unsupported argument"}},
		{"fail/duplicate-block", "seal {\n}\nseal {\n}", nil,
			[]string{"t.hcl:3:1: Duplicate seal block"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, tc.src, tc.env, tc.want)
		})
	}
}
