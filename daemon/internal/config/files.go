package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
)

// checkFiles performs Load's filesystem checks: plugin binaries exist and are
// executable regular files (their Command becomes absolute), and the TLS
// certificate and key and the admin token file exist. Contents are not read.
func (p *parser) checkFiles() {
	c := p.cfg
	for i := range c.Plugins {
		pl := &c.Plugins[i]
		key := fmt.Sprintf("plugin.%d.command", i)
		if _, set := p.from[key]; !set || pl.Command == "" {
			continue // missing or invalid: already reported
		}
		abs, err := filepath.Abs(pl.Command)
		if err != nil {
			p.errAt(key, pl.DeclRange.Ptr(), "Plugin binary not found", fmt.Sprintf("Plugin %q: %s.", pl.Name, err))
			continue
		}
		info, err := os.Stat(abs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			p.errAt(key, pl.DeclRange.Ptr(), "Plugin binary not found",
				fmt.Sprintf("Plugin %q: no file at %q (relative paths are resolved against the working directory). Build the plugin or fix command.", pl.Name, abs))
		case err != nil:
			p.errAt(key, pl.DeclRange.Ptr(), "Plugin binary not usable", fmt.Sprintf("Plugin %q: %s.", pl.Name, err))
		case !info.Mode().IsRegular():
			p.errAt(key, pl.DeclRange.Ptr(), "Plugin binary not usable",
				fmt.Sprintf("Plugin %q: %q is not a regular file.", pl.Name, abs))
		case info.Mode().Perm()&0o111 == 0:
			p.errAt(key, pl.DeclRange.Ptr(), "Plugin binary not usable",
				fmt.Sprintf("Plugin %q: %q is not executable.", pl.Name, abs))
		default:
			pl.Command = abs
		}
	}
	t := c.Gateway.TLS
	if t.Mode == TLSFiles {
		p.checkFile("gateway.tls.cert_file", p.block("gateway.tls", "gateway"), "TLS certificate", t.CertFile)
		p.checkFile("gateway.tls.key_file", p.block("gateway.tls", "gateway"), "TLS key", t.KeyFile)
	}
	if c.Admin.Listen != "" {
		p.checkFile("admin.token_file", p.block("admin"), "Admin token file", c.Admin.TokenFile)
	}
}

func (p *parser) checkFile(key string, fallback *hcl.Range, what, path string) {
	if path == "" {
		return
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.errAt(key, fallback, what+" not found", fmt.Sprintf("No file at %q.", path))
	case err != nil:
		p.errAt(key, fallback, what+" not usable", err.Error()+".")
	case !info.Mode().IsRegular():
		p.errAt(key, fallback, what+" not usable", fmt.Sprintf("%q is not a regular file.", path))
	}
}
