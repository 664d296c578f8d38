package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile creates name under dir with the given mode and returns its path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "bin/plugin", "#!/bin/sh\n", 0o755)
	noexec := writeFile(t, dir, "bin/noexec", "", 0o644)
	cert := writeFile(t, dir, "tls/cert.pem", "", 0o644)
	key := writeFile(t, dir, "tls/key.pem", "", 0o600)
	token := writeFile(t, dir, "admin.token", "0123456789abcdef0123\n", 0o600)
	shortToken := writeFile(t, dir, "short.token", "12345\n", 0o600)
	spacedToken := writeFile(t, dir, "spaced.token", "0123456789 abcdef0123\n", 0o600)
	groupToken := writeFile(t, dir, "group.token", "0123456789abcdef0123\n", 0o640)
	worldToken := writeFile(t, dir, "world.token", "0123456789abcdef0123\n", 0o604)
	missing := filepath.Join(dir, "missing")

	plugin := func(command string) string {
		return fmt.Sprintf("plugin \"crypto\" {\n  command = %q\n}\n", command)
	}
	tls := func(c, k string) string {
		return fmt.Sprintf("gateway {\n  tls {\n    cert_file = %q\n    key_file = %q\n  }\n}\n", c, k)
	}
	admin := func(tok string) string {
		return fmt.Sprintf("admin {\n  listen = \"127.0.0.1:50020\"\n  token_file = %q\n}\n", tok)
	}
	tests := []struct {
		name string
		src  string
		want []string // rendered error line prefixes; none means success
	}{
		{"ok/plugin", plugin(bin), nil},
		{"ok/tls-files", tls(cert, key), nil},
		{"ok/admin-token", admin(token), nil},
		{"fail/plugin-missing", plugin(missing), []string{`c.hcl:2:13: Plugin binary not found: Plugin "crypto": no file at "` + missing + `"`}},
		{"fail/plugin-not-executable", plugin(noexec), []string{"c.hcl:2:13: Plugin binary not usable"}},
		{"fail/plugin-directory", plugin(dir), []string{"c.hcl:2:13: Plugin binary not usable"}},
		{"fail/cert-missing", tls(missing, key), []string{"c.hcl:3:17: TLS certificate not found"}},
		{"fail/key-missing", tls(cert, missing), []string{"c.hcl:4:16: TLS key not found"}},
		{"fail/token-missing", admin(missing), []string{"c.hcl:3:16: Admin token file not found"}},
		{"fail/token-short", admin(shortToken), []string{`c.hcl:3:16: Admin token file not usable: the token in "` + shortToken + `" has 5 characters; at least 16 are required.`}},
		{"fail/token-two-words", admin(spacedToken), []string{"c.hcl:3:16: Admin token file not usable: the token in"}},
		{"fail/token-group-readable", admin(groupToken), []string{`c.hcl:3:16: Admin token file not usable: "` + groupToken + `" is accessible by group or others (mode 0640); chmod 600 it.`}},
		{"fail/token-world-readable", admin(worldToken), []string{"c.hcl:3:16: Admin token file not usable"}},
		{"fail/token-directory", admin(dir), []string{"c.hcl:3:16: Admin token file not usable"}},
		{"fail/all-errors-at-once", "gateway {\n  listen = 1\n}\n" + plugin(missing), []string{"c.hcl:2:12: Incorrect attribute value type", "c.hcl:5:13: Plugin binary not found"}},
		{"fail/syntax-stops", "gateway {\n  listen = \n}\n" + plugin(missing), []string{"c.hcl:2:12: Invalid expression"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "c.hcl", tt.src, 0o644)
			c, diags := Load(path, nil)
			out := FormatDiagnostics(diags)
			if tt.want == nil {
				if c == nil || diags.HasErrors() {
					t.Fatalf("Load failed:\n%s", out)
				}
				return
			}
			if c != nil {
				t.Fatal("Load succeeded")
			}
			got := errorLines(out)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), out)
			}
			for i := range tt.want {
				want := strings.Replace(tt.want[i], "c.hcl", path, 1)
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("error %d:\n got  %s\n want %s...", i, got[i], want)
				}
			}
		})
	}
}

// TestLoadRelativeCommand checks that a relative command is resolved against
// the working directory and made absolute, and that the hash follows.
func TestLoadRelativeCommand(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bin/aunsorm-plugin-crypto", "#!/bin/sh\n", 0o755)
	cfgDir := t.TempDir() // the config file lives elsewhere: it does not matter
	path := writeFile(t, cfgDir, "c.hcl", plugins("bin/aunsorm-plugin-crypto"), 0o644)
	t.Chdir(dir)
	c, diags := Load(path, nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	want := filepath.Join(dir, "bin", "aunsorm-plugin-crypto")
	if c.Plugins[0].Command != want {
		t.Errorf("command %q, want %q", c.Plugins[0].Command, want)
	}
	abs, _ := Parse([]byte(plugins(want)), path, nil)
	if abs.Plugins[0].Hash != c.Plugins[0].Hash {
		t.Error("hash not computed over the resolved command")
	}
	if string(c.Source) != plugins("bin/aunsorm-plugin-crypto") || c.File != path {
		t.Errorf("File %q / Source not recorded", c.File)
	}
}

func plugins(command string) string {
	return fmt.Sprintf("plugin \"crypto\" {\n  command = %q\n}\n", command)
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	big := writeFile(t, dir, "big.hcl", strings.Repeat("#", maxConfigFileBytes+1), 0o644)
	tests := []struct {
		name, path, want string
	}{
		{"fail/missing", filepath.Join(dir, "nope.hcl"), filepath.Join(dir, "nope.hcl") + ": Failed to read configuration file"},
		{"fail/directory", dir, dir + ": Failed to read configuration file"},
		{"fail/too-large", big, big + ": Configuration file too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := Load(tt.path, nil)
			if c != nil || !diags.HasErrors() {
				t.Fatal("Load succeeded")
			}
			if out := FormatDiagnostics(diags); !strings.HasPrefix(out, tt.want) {
				t.Errorf("got %q, want prefix %q", out, tt.want)
			}
		})
	}
}

// TestReadAdminToken: serve reads token_file with the rules config
// validate applies (checkAdminToken calls the same function), and no
// error quotes the token.
func TestReadAdminToken(t *testing.T) {
	dir := t.TempDir()
	const secret = "s3cret-token-0123456789"
	tests := []struct {
		name, content string
		mode          os.FileMode
		want          string // error substring; "" means success
	}{
		{"ok/trimmed", "  " + secret + "\n", 0o600, ""},
		{"ok/owner-read-only", secret, 0o400, ""},
		{"fail/short", "s3cret", 0o600, "has 6 characters; at least 16"},
		{"fail/empty", "\n", 0o600, "has 0 characters"},
		{"fail/long", strings.Repeat("a", MaxAdminTokenLen+1), 0o600, "longer than 4096"},
		{"fail/two-words", secret + " " + secret, 0o600, "one word of visible ASCII"},
		{"fail/control-character", secret + "\x01", 0o600, "one word of visible ASCII"},
		{"fail/group-readable", secret, 0o640, "mode 0640"},
		{"fail/others-readable", secret, 0o604, "mode 0604"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, "/", "-"))
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			token, err := ReadAdminToken(path)
			if tt.want == "" {
				if err != nil || string(token) != secret {
					t.Fatalf("ReadAdminToken = %q, %v", token, err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrAdminToken) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error quotes the token: %v", err)
			}
		})
	}
	t.Run("fail/missing", func(t *testing.T) {
		if _, err := ReadAdminToken(filepath.Join(dir, "none")); !errors.Is(err, ErrAdminToken) || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("error %v", err)
		}
	})
}
