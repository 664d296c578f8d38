package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/hashicorp/hcl/v2"
	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/pluginhost"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// validate checks the configuration file and then each plugin's own config
// block, by launching the plugin binary in validate-only mode on a throwaway
// loopback socket with no host services. Diagnostics go to stderr as
// file:line:col: message; the exit code is 1 when there is any error.
func validate(ctx context.Context, cfgPath string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, diags := config.Load(cfgPath, getenv)
	if !diags.HasErrors() {
		for _, p := range cfg.Plugins {
			diags = append(diags, validatePlugin(ctx, p)...)
		}
	}
	// FormatDiagnostics ends every line, the last included, with a newline.
	fmt.Fprint(stderr, config.FormatDiagnostics(diags))
	if diags.HasErrors() {
		return 1
	}
	fmt.Fprintf(stdout, "%s: configuration is valid (%s)\n", cfgPath, plural(len(cfg.Plugins), "plugin"))
	return 0
}

// plural returns "1 plugin", "2 plugins", "0 plugins".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func validatePlugin(ctx context.Context, p config.Plugin) hcl.Diagnostics {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return diag(p, err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return diag(p, err)
	}
	defer f.Close()
	lc := pluginhost.LaunchConfig{Name: p.Name, Command: p.Command, Args: p.Args, Env: p.Environ(),
		SHA256: p.SHA256, Listener: f, Host: pluginv1.UnimplementedHostServer{}, Logger: zerolog.Nop()}
	// Validation runs the plugin confined as serving would, without a data
	// directory: it only decodes its configuration.
	_ = supervisor.SandboxLaunch(&lc, p, "") // no data directory: nothing to create
	client, err := pluginhost.Launch(ctx, lc)
	if err != nil {
		return diag(p, err)
	}
	defer client.Kill()
	req := supervisor.ConfigureRequest(p)
	req.ValidateOnly = true
	err = client.Configure(ctx, req)
	var ce *plugin.ConfigError
	if errors.As(err, &ce) {
		return ce.Diagnostics
	}
	if err != nil {
		return diag(p, err)
	}
	return nil
}

func diag(p config.Plugin, err error) hcl.Diagnostics {
	r := p.DeclRange
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Plugin %q", p.Name), Detail: err.Error(), Subject: &r}}
}
