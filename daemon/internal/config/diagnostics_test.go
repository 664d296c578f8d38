package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestFormatDiagnostics(t *testing.T) {
	rng := &hcl.Range{Filename: "a.hcl", Start: hcl.Pos{Line: 3, Column: 7, Byte: 20}}
	tests := []struct {
		name string
		d    *hcl.Diagnostic
		want string
	}{
		{"ok/error", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad", Detail: "Why.", Subject: rng}, "a.hcl:3:7: Bad: Why.\n"},
		{"ok/warning", &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Hmm", Subject: rng}, "a.hcl:3:7: warning: Hmm\n"},
		{"ok/multi-line-detail", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad", Detail: "one\ntwo  three", Subject: rng}, "a.hcl:3:7: Bad: one two three\n"},
		{"ok/env", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad", Extra: envExtra("AUNSORM_X")}, "AUNSORM_X: Bad\n"},
		{"ok/whole-file", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad", Subject: &hcl.Range{Filename: "a.hcl"}}, "a.hcl: Bad\n"},
		{"ok/no-location", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad"}, "Bad\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatDiagnostics(hcl.Diagnostics{tt.d}); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErr(t *testing.T) {
	_, warnOnly := parseString("gateway {\n  tls {\n    disabled = true\n  }\n}\n", nil)
	if len(warnOnly) == 0 || Err(warnOnly) != nil {
		t.Fatalf("warnings alone must not be an error: %v", Err(warnOnly))
	}
	_, diags := parseString("log {\n  level = \"loud\"\n}\n", nil)
	err := Err(diags)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "t.hcl:2:11: Invalid log level") {
		t.Errorf("Err = %v", err)
	}
}
