package plugin

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestConfigDecodeNamesAttribute: a type error names the attribute and
// points at its value in the operator's file.
func TestConfigDecodeNamesAttribute(t *testing.T) {
	type inner struct {
		Depth int `hcl:"depth,optional"`
	}
	type conf struct {
		Strict  bool     `hcl:"strict,optional"`
		MaxBody int64    `hcl:"max_body_bytes,optional"`
		Limits  *inner   `hcl:"limits,block"`
		Names   []string `hcl:"names,optional"`
	}
	tests := []struct {
		name, src, want string
	}{
		{"fail/bool", "strict = \"yes\"\n", `f.hcl:3:13: Incorrect attribute value type; Inappropriate value for attribute "strict": a bool is required`},
		{"fail/number", "\nmax_body_bytes = \"big\"\n", `f.hcl:4:19: Incorrect attribute value type; Inappropriate value for attribute "max_body_bytes": a number is required`},
		{"fail/nested-block", "limits {\n  depth = true\n}\n", `f.hcl:4:11: Incorrect attribute value type; Inappropriate value for attribute "depth"`},
		{"fail/list", "names = \"a\"\n", `Inappropriate value for attribute "names"`},
		{"fail/unknown-untouched", "colour = 1\n", `Unsupported argument`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c conf
			err := NewConfig([]byte(tt.src), "f.hcl", hcl.Pos{Line: 3, Column: 3, Byte: 10}).Decode(&c)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode = %v, want %q", err, tt.want)
			}
		})
	}
}

// Errorf points at the attribute when the block sets it, else at the
// start of the block.
func TestConfigErrorfPosition(t *testing.T) {
	c := NewConfig([]byte("greeting = \"hi\"\n\nlimit = 0\n"), "aunsorm.hcl", hcl.Pos{Line: 12, Column: 3, Byte: 200})
	tests := []struct {
		name      string
		attribute string
		line, col int
	}{
		{"ok/attribute-set", "limit", 14, 1},
		{"ok/first-attribute", "greeting", 12, 3},
		{"fail/attribute-absent", "colour", 12, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ce *ConfigError
			if err := c.Errorf(tt.attribute, "must be %s", "positive"); !errors.As(err, &ce) || len(ce.Diagnostics) != 1 {
				t.Fatalf("Errorf: %v", err)
			}
			d := ce.Diagnostics[0]
			if d.Subject == nil || d.Subject.Filename != "aunsorm.hcl" || d.Subject.Start.Line != tt.line || d.Subject.Start.Column != tt.col {
				t.Fatalf("diagnostic at %v, want aunsorm.hcl:%d:%d", d.Subject, tt.line, tt.col)
			}
			if d.Detail != "must be positive" {
				t.Fatalf("detail %q", d.Detail)
			}
		})
	}
}
