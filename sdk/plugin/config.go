package plugin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// Config is a plugin's `config { ... }` block, as HCL source with its
// position in the operator's file.
type Config struct {
	src      []byte
	filename string
	start    hcl.Pos
}

// NewConfig returns a Config for HCL body source that starts at pos in
// filename. Tests use it to build an Env by hand.
func NewConfig(src []byte, filename string, pos hcl.Pos) *Config {
	if pos.Line == 0 {
		pos = hcl.InitialPos
	}
	return &Config{src: src, filename: filename, start: pos}
}

// Source returns the raw HCL of the block body.
func (c *Config) Source() []byte { return c.src }

// Decode decodes the block into v, a pointer to a struct with `hcl` tags
// (hashicorp/hcl/v2/gohcl). Unknown attributes and blocks, wrong types and
// missing required attributes are reported as a *ConfigError whose
// diagnostics point into the operator's file.
func (c *Config) Decode(v any) error {
	if c == nil {
		return nil
	}
	file, diags := hclsyntax.ParseConfig(c.src, c.filename, c.start)
	if diags.HasErrors() {
		return &ConfigError{Diagnostics: diags}
	}
	diags = append(diags, gohcl.DecodeBody(file.Body, nil, v)...)
	if diags.HasErrors() {
		nameAttributes(file.Body, diags)
		return &ConfigError{Diagnostics: diags}
	}
	return nil
}

// nameAttributes rewrites gohcl's type errors ("Unsuitable value: a bool
// is required") to name the attribute whose value they point at.
func nameAttributes(body hcl.Body, diags hcl.Diagnostics) {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return
	}
	for _, d := range diags {
		if d.Subject == nil || d.Summary != "Unsuitable value type" {
			continue
		}
		if name := attributeAt(sb, d.Subject.Start.Byte); name != "" {
			d.Summary = "Incorrect attribute value type"
			d.Detail = fmt.Sprintf("Inappropriate value for attribute %q: %s", name, strings.TrimPrefix(d.Detail, "Unsuitable value: "))
		}
	}
}

// attributeAt returns the name of the attribute, in body or a nested
// block, whose value covers the byte offset, or "".
func attributeAt(body *hclsyntax.Body, offset int) string {
	for name, a := range body.Attributes {
		if r := a.Expr.Range(); r.Start.Byte <= offset && offset < max(r.End.Byte, r.Start.Byte+1) {
			return name
		}
	}
	for _, b := range body.Blocks {
		if name := attributeAt(b.Body, offset); name != "" {
			return name
		}
	}
	return ""
}

// Errorf returns a *ConfigError for a semantic problem with one attribute:
// the diagnostic points at that attribute in the operator's file (its whole
// "name = value" range), or at the start of the config block when the block
// does not set the attribute (a missing value the plugin requires).
func (c *Config) Errorf(attribute, format string, args ...any) error {
	var r hcl.Range
	if c != nil {
		r = hcl.Range{Filename: c.filename, Start: c.start, End: c.start}
		if file, diags := hclsyntax.ParseConfig(c.src, c.filename, c.start); !diags.HasErrors() {
			if body, ok := file.Body.(*hclsyntax.Body); ok {
				if a, ok := body.Attributes[attribute]; ok {
					r = a.SrcRange
				}
			}
		}
	}
	return &ConfigError{Diagnostics: hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid value for %q", attribute),
		Detail:   fmt.Sprintf(format, args...),
		Subject:  &r,
	}}}
}

// ConfigError carries configuration diagnostics.
type ConfigError struct {
	Diagnostics hcl.Diagnostics
}

// Error renders the diagnostics one per line as file:line:col: message.
func (e *ConfigError) Error() string {
	var b strings.Builder
	for i, d := range e.Diagnostics {
		if i > 0 {
			b.WriteByte('\n')
		}
		if d.Subject != nil {
			fmt.Fprintf(&b, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		b.WriteString(d.Summary)
		if d.Detail != "" {
			b.WriteString("; ")
			b.WriteString(d.Detail)
		}
	}
	return b.String()
}

// toProtoDiagnostics converts a Configure error into wire diagnostics; errors
// that are not configuration errors yield one diagnostic without position.
func toProtoDiagnostics(err error) []*pluginv1.Diagnostic {
	if err == nil {
		return nil
	}
	var ce *ConfigError
	if !errors.As(err, &ce) {
		return []*pluginv1.Diagnostic{{Severity: "error", Summary: err.Error()}}
	}
	out := make([]*pluginv1.Diagnostic, 0, len(ce.Diagnostics))
	for _, d := range ce.Diagnostics {
		pd := &pluginv1.Diagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			pd.Severity = "warning"
		}
		if d.Subject != nil {
			pd.Filename = d.Subject.Filename
			pd.Line = int32(d.Subject.Start.Line)
			pd.Column = int32(d.Subject.Start.Column)
		}
		out = append(out, pd)
	}
	return out
}
