package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// FuzzParse feeds arbitrary source to Parse: it must never panic, must
// return either a configuration or errors, and a returned plugin config body
// must re-parse on its own at its recorded position.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.hcl"))
	seeds = append(seeds, exampleFile)
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"",
		"gateway {",
		"plugin \"a\" { config { x = 1 } }\n",
		"plugin \"pqc\" {\n command = \"x\"\n config { a = { b = [1, 2] } }\n}\n",
		"plugin \"pqc\" {\n command = \"x\"\n config {\n}\n}\n",
		"clock { max_age = \"-1s\" }\n",
		"data_dir = \"${\"\"}\"\n",
		"gateway { listen = \"[::]:0\" }\n",
		"plugin \"crypto\" {\n command = \"x\"\n user = \"nobody\"\n group = \"4294967295\"\n}\n",
		"plugin \"crypto\" {\n command = \"x\"\n user = \"../\\u0000\"\n}\n",
		"\xff\xfe{}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		c, diags := Parse(src, "fuzz.hcl", nil)
		_ = FormatDiagnostics(diags)
		if (c == nil) != diags.HasErrors() {
			t.Fatalf("config %v with errors %v", c != nil, diags.HasErrors())
		}
		if c == nil {
			return
		}
		_ = c.Redacted()
		for _, pl := range c.Plugins {
			if len(pl.Hash) != 64 {
				t.Fatalf("plugin %q: hash %q", pl.Name, pl.Hash)
			}
			if pl.ConfigRange.Filename == "" {
				continue
			}
			if string(src[pl.ConfigRange.Start.Byte:pl.ConfigRange.End.Byte]) != string(pl.ConfigBody) {
				t.Fatalf("plugin %q: ConfigRange does not index ConfigBody", pl.Name)
			}
			if _, d := hclsyntax.ParseConfig(pl.ConfigBody, "fuzz.hcl", pl.ConfigRange.Start); d.HasErrors() {
				t.Fatalf("plugin %q: config body does not re-parse: %s", pl.Name, FormatDiagnostics(d))
			}
		}
	})
}

// FuzzParseAdminToken: any token file content yields either a token of
// visible ASCII within the length bounds, or a problem that does not quote
// the content.
func FuzzParseAdminToken(f *testing.F) {
	for _, seed := range []string{"0123456789abcdef", " 0123456789abcdef0123\n", "short", "", "two words 0123456789", "tok\x00en0123456789abc", strings.Repeat("a", MaxAdminTokenLen+1)} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		token, problem := parseAdminToken(raw)
		if problem != "" {
			if token != nil {
				t.Fatal("a token with a problem")
			}
			if tok := bytes.TrimSpace(raw); len(tok) >= 4 && strings.Contains(problem, string(tok)) {
				t.Fatal("the problem quotes the token")
			}
			return
		}
		if len(token) < MinAdminTokenLen || len(token) > MaxAdminTokenLen {
			t.Fatalf("token of %d characters accepted", len(token))
		}
		for _, c := range token {
			if c <= ' ' || c >= 0x7f {
				t.Fatalf("token with byte %#x accepted", c)
			}
		}
		if !bytes.Contains(raw, token) {
			t.Fatal("the token is not from the content")
		}
	})
}
