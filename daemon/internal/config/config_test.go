package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// exampleFile is the repository's example configuration, used by `make run`.
const exampleFile = "../../../config.hcl.example"

// envMap turns a map into a getenv function.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// parseString parses src as a file named t.hcl.
func parseString(src string, env map[string]string) (*Config, hcl.Diagnostics) {
	return Parse([]byte(src), "t.hcl", envMap(env))
}

func rangeString(r hcl.Range) string {
	if r.Filename == "" && r.Start.Line == 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d-%d:%d", r.Filename, r.Start.Line, r.Start.Column, r.End.Line, r.End.Column)
}

// normalise renders the whole effective configuration (nothing redacted) as
// a stable JSON-ready value for the golden files.
func normalise(c *Config) map[string]any {
	plugins := []any{}
	for _, pl := range c.Plugins {
		plugins = append(plugins, map[string]any{
			"name":         pl.Name,
			"command":      pl.Command,
			"args":         pl.Args,
			"sha256":       pl.SHA256,
			"listen":       pl.Listen,
			"env":          pl.Env,
			"config_body":  string(pl.ConfigBody),
			"config_range": rangeString(pl.ConfigRange),
			"hash":         pl.Hash,
			"decl_range":   rangeString(pl.DeclRange),
			"sandbox":      map[string]any{"mode": pl.Sandbox.Mode, "read": pl.Sandbox.Read, "write": pl.Sandbox.Write, "connect": pl.Sandbox.Connect},
		})
	}
	g := c.Gateway
	return map[string]any{
		"file":     c.File,
		"data_dir": c.DataDir,
		"log":      map[string]any{"level": c.Log.Level, "format": c.Log.Format, "flush_interval": c.Log.FlushInterval.String()},
		"gateway": map[string]any{
			"listen": g.Listen,
			"tls": map[string]any{
				"mode":      g.TLS.Mode,
				"cert_file": g.TLS.CertFile,
				"key_file":  g.TLS.KeyFile,
				"dev_dir":   g.TLS.DevDir,
			},
			"max_body_bytes":   g.MaxBodyBytes,
			"read_timeout":     g.ReadTimeout.String(),
			"write_timeout":    g.WriteTimeout.String(),
			"idle_timeout":     g.IdleTimeout.String(),
			"upstream_timeout": g.UpstreamTimeout.String(),
			"rate_limit": map[string]any{
				"requests_per_second": g.RateLimit.RequestsPerSecond,
				"burst":               g.RateLimit.Burst,
				"enabled":             g.RateLimit.Enabled,
			},
		},
		"clock": map[string]any{
			"max_age":               c.Clock.MaxAge.String(),
			"source":                c.Clock.Source,
			"refresh_url":           c.Clock.RefreshURL,
			"authority_fingerprint": c.Clock.AuthorityFingerprint,
			"ntp_servers":           c.Clock.NTPServers,
		},
		"rng": map[string]any{"reseed_interval": c.RNG.ReseedInterval.String()},
		"admin": map[string]any{
			"socket":     c.Admin.Socket,
			"listen":     c.Admin.Listen,
			"token_file": c.Admin.TokenFile,
		},
		"plugins": plugins,
	}
}

// golden renders a Parse result: the normalised config (or null) and the
// formatted diagnostics.
func golden(t *testing.T, c *Config, diags hcl.Diagnostics) []byte {
	t.Helper()
	out := map[string]any{"config": nil, "diagnostics": []string{}}
	if c != nil {
		out["config"] = normalise(c)
	}
	if s := FormatDiagnostics(diags); s != "" {
		out["diagnostics"] = strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{"example": exampleFile}
	for _, in := range inputs {
		cases[strings.TrimSuffix(filepath.Base(in), ".hcl")] = in
	}
	for name, in := range cases {
		t.Run("ok/"+name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			c, diags := Parse(src, filepath.Base(in), nil)
			if diags.HasErrors() {
				t.Fatalf("unexpected errors:\n%s", FormatDiagnostics(diags))
			}
			got := golden(t, c, diags)
			want := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantBytes, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, wantBytes) {
				t.Errorf("%s differs from the golden file (go test -update rewrites it)\ngot:\n%s", want, got)
			}
		})
	}
}

func TestExampleConfigParsesClean(t *testing.T) {
	src, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	c, diags := Parse(src, "config.hcl.example", nil)
	if len(diags) > 0 {
		t.Fatalf("config.hcl.example has diagnostics:\n%s", FormatDiagnostics(diags))
	}
	if c.DataDir != "./data" || c.Gateway.Listen != "127.0.0.1:50010" || c.Gateway.TLS.Mode != TLSDev {
		t.Errorf("unexpected basics: data_dir %q, listen %q, tls %q", c.DataDir, c.Gateway.Listen, c.Gateway.TLS.Mode)
	}
	for _, name := range []string{"crypto", "pqc"} {
		pl := c.FindPlugin(name)
		if pl == nil {
			t.Fatalf("plugin %q missing", name)
		}
		if want := "bin/aunsorm-plugin-" + name; pl.Command != want {
			t.Errorf("plugin %q command %q, want %q", name, pl.Command, want)
		}
		if want, _ := DefaultPluginListen(name); pl.Listen != want {
			t.Errorf("plugin %q listen %q, want %q", name, pl.Listen, want)
		}
	}
}

// TestConfigBodyForPlugin checks what a plugin does with its block: parse
// ConfigBody at ConfigRange.Start and get positions in the operator's file.
func TestConfigBodyForPlugin(t *testing.T) {
	src := "plugin \"pqc\" {\n  command = \"x\"\n  config {\n    strict = false\n    implementation = \"circl\"\n  }\n}\n"
	c, diags := parseString(src, nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	pl := c.Plugins[0]
	if got := string(src[pl.ConfigRange.Start.Byte:pl.ConfigRange.End.Byte]); got != string(pl.ConfigBody) {
		t.Fatalf("ConfigRange does not index ConfigBody: %q vs %q", got, pl.ConfigBody)
	}
	f, diags := hclsyntax.ParseConfig(pl.ConfigBody, pl.ConfigRange.Filename, pl.ConfigRange.Start)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	tests := []struct {
		name      string
		line, col int
	}{
		{"strict", 4, 5},
		{"implementation", 5, 5},
	}
	for _, tt := range tests {
		t.Run("ok/"+tt.name, func(t *testing.T) {
			a, ok := attrs[tt.name]
			if !ok {
				t.Fatalf("attribute %q missing", tt.name)
			}
			if a.NameRange.Filename != "t.hcl" || a.NameRange.Start.Line != tt.line || a.NameRange.Start.Column != tt.col {
				t.Errorf("position %s, want t.hcl:%d:%d", posString(a.NameRange), tt.line, tt.col)
			}
		})
	}
}

func TestFindPlugin(t *testing.T) {
	c, diags := parseString(`plugin "crypto" { command = "x" }`, nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if c.FindPlugin("crypto") == nil || c.FindPlugin("pqc") != nil {
		t.Error("FindPlugin returned the wrong result")
	}
}

func TestParseDefaults(t *testing.T) {
	c, diags := parseString("", nil)
	if len(diags) > 0 {
		t.Fatal(FormatDiagnostics(diags))
	}
	if c.Admin.Socket != filepath.Join("data", "admin.sock") || c.Gateway.TLS.DevDir != filepath.Join("data", "tls") {
		t.Errorf("derived paths: socket %q, dev dir %q", c.Admin.Socket, c.Gateway.TLS.DevDir)
	}
	if !c.Gateway.RateLimit.Enabled || c.Plugins != nil {
		t.Errorf("rate limit enabled %v, plugins %v", c.Gateway.RateLimit.Enabled, c.Plugins)
	}
}

func TestPluginEnviron(t *testing.T) {
	p := Plugin{Env: map[string]string{"B": "2", "A": "x=y", "C": ""}}
	if got, want := strings.Join(p.Environ(), " "), "A=x=y B=2 C="; got != want {
		t.Fatalf("Environ() = %q, want %q", got, want)
	}
	if got := (Plugin{}).Environ(); len(got) != 0 {
		t.Fatalf("Environ() of no env = %q", got)
	}
}
