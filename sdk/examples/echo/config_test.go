package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/aunsorm/aunsorm/sdk/plugin"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		want     string
		wantLine int // line of the diagnostic when the block is rejected
	}{
		{"ok/default", "", defaultGreeting, 0},
		{"ok/greeting", `greeting = "merhaba dünya"`, "merhaba dünya", 0},
		{"fail/empty", "\ngreeting = \"\"", "", 2},
		{"fail/too_long", `greeting = "` + strings.Repeat("x", maxGreetingLen+1) + `"`, "", 1},
		{"fail/newline", `greeting = "a\nb"`, "", 1},
		{"fail/unknown_attribute", "greeting = \"hi\"\nvolume = 11", "", 2},
		{"fail/wrong_type", `greeting = ["a"]`, "", 1},
		{"fail/syntax", `greeting = = "x"`, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(plugin.NewConfig([]byte(tt.src), "config.hcl", hcl.Pos{Line: 1, Column: 1}))
			if tt.wantLine == 0 {
				if err != nil || cfg.Greeting != tt.want {
					t.Fatalf("greeting %q, error %v; want %q", cfg.Greeting, err, tt.want)
				}
				return
			}
			var ce *plugin.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want a *plugin.ConfigError, got %v", err)
			}
			if d := ce.Diagnostics[0]; d.Subject == nil || d.Subject.Filename != "config.hcl" || d.Subject.Start.Line != tt.wantLine {
				t.Fatalf("diagnostic %v, want config.hcl:%d", err, tt.wantLine)
			}
		})
	}
}
