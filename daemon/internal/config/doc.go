// Package config loads the aunsormd configuration file.
//
// The file is HCL (github.com/hashicorp/hcl/v2, native syntax). [Load] reads a
// file, [Parse] decodes bytes; both apply AUNSORM_* environment overrides on top
// of the file, fill in defaults, validate the result and return either a
// *[Config] or hcl.Diagnostics whose subjects point at the offending
// attribute. [FormatDiagnostics] renders them as "file:line:col: message"
// lines, the format `aunsormd config validate` prints.
//
// Precedence, lowest first: built-in defaults, the file, the environment.
//
// Each plugin's own `config { ... }` block is opaque here: it is captured as the
// raw bytes between its braces ([Plugin.ConfigBody]) with the position where
// those bytes start ([Plugin.ConfigRange]), so the plugin can parse it with
// hclsyntax.ParseConfig and report diagnostics that point into the operator's
// file. docs/configuration.md documents every block, attribute and variable.
package config
