package plugin

import (
	"errors"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

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
