package config_test

import (
	"fmt"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func ExampleParse() {
	src := []byte(`
gateway {
  listen = "127.0.0.1:8443"
}

plugin "pqc" {
  command = "bin/aunsorm-plugin-pqc"
  config {
    strict = true
  }
}
`)
	env := map[string]string{"AUNSORM_LOG_LEVEL": "debug"}
	cfg, diags := config.Parse(src, "aunsorm.hcl", func(k string) string { return env[k] })
	if diags.HasErrors() {
		fmt.Print(config.FormatDiagnostics(diags))
		return
	}
	fmt.Println(cfg.Gateway.Listen, cfg.Gateway.TLS.Mode, cfg.Log.Level)

	// The daemon hands the plugin its config body; the plugin parses it at
	// its recorded start so its own diagnostics point into aunsorm.hcl.
	pl := cfg.FindPlugin("pqc")
	f, _ := hclsyntax.ParseConfig(pl.ConfigBody, pl.ConfigRange.Filename, pl.ConfigRange.Start)
	attrs, _ := f.Body.JustAttributes()
	fmt.Println(pl.Listen, attrs["strict"].NameRange)
	// Output:
	// 127.0.0.1:8443 dev debug
	// 127.0.0.1:50018 aunsorm.hcl:9,5-11
}

func ExampleFormatDiagnostics() {
	src := []byte(`
gateway {
  listen       = "127.0.0.1:50012"
  read_timeout = "15"
}

plugin "crypto" {
  command = "bin/aunsorm-plugin-crypto"
}
`)
	_, diags := config.Parse(src, "aunsorm.hcl", nil)
	fmt.Print(config.FormatDiagnostics(diags))
	// Output:
	// aunsorm.hcl:4:18: Invalid duration: Attribute "read_timeout": "15" is not a duration; use a number with a unit such as "30s", "5m" or "1h".
	// aunsorm.hcl:7:1: Port clash: Plugin "crypto" would listen on "127.0.0.1:50012", which overlaps "127.0.0.1:50012" used by the gateway (at aunsorm.hcl:3:18).
}
