package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// FormatDiagnostics renders diagnostics one per line as
// "file:line:col: summary: detail", with "warning: " before the summary of
// warnings. A diagnostic about an environment variable starts with the
// variable's name instead of a position; one about a whole file with the
// file name alone. Line breaks inside a message are folded into spaces.
func FormatDiagnostics(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		if d == nil {
			continue
		}
		if loc := location(d); loc != "" {
			b.WriteString(loc)
			b.WriteString(": ")
		}
		if d.Severity == hcl.DiagWarning {
			b.WriteString("warning: ")
		}
		b.WriteString(oneLine(d.Summary))
		if detail := oneLine(d.Detail); detail != "" {
			b.WriteString(": ")
			b.WriteString(detail)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func location(d *hcl.Diagnostic) string {
	if ev, ok := d.Extra.(EnvVarExtra); ok && d.Subject == nil {
		return ev.EnvVar()
	}
	if d.Subject == nil {
		return ""
	}
	if d.Subject.Start.Line == 0 {
		return d.Subject.Filename
	}
	return fmt.Sprintf("%s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Err returns nil when diags has no errors, and otherwise an error wrapping
// [ErrInvalid] whose message holds the formatted error diagnostics.
func Err(diags hcl.Diagnostics) error {
	if !diags.HasErrors() {
		return nil
	}
	var errs hcl.Diagnostics
	for _, d := range diags {
		if d != nil && d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	return fmt.Errorf("%w:\n%s", ErrInvalid, strings.TrimSuffix(FormatDiagnostics(errs), "\n"))
}
