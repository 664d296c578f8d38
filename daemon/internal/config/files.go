package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Bounds on the admin API's bearer token in token_file (white space around
// it is ignored).
const (
	MinAdminTokenLen = 16
	MaxAdminTokenLen = 4096
)

// ReadAdminToken reads the admin API's bearer token from token_file with
// the rules `config validate` and `serve` both apply: a regular file that
// neither group nor others may read or write (like the clock authority's
// key), holding one token of MinAdminTokenLen to MaxAdminTokenLen visible
// ASCII characters. Errors wrap ErrAdminToken and never quote the token.
func ReadAdminToken(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAdminToken, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAdminToken, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %q is not a regular file", ErrAdminToken, path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %q is accessible by group or others (mode %04o); chmod 600 it", ErrAdminToken, path, perm)
	}
	raw, err := io.ReadAll(io.LimitReader(f, MaxAdminTokenLen+1024))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAdminToken, err)
	}
	token := bytes.TrimSpace(raw)
	defer clear(raw)
	switch {
	case len(token) < MinAdminTokenLen:
		return nil, fmt.Errorf("%w: the token in %q has %d characters; at least %d are required", ErrAdminToken, path, len(token), MinAdminTokenLen)
	case len(token) > MaxAdminTokenLen:
		return nil, fmt.Errorf("%w: the token in %q is longer than %d characters", ErrAdminToken, path, MaxAdminTokenLen)
	}
	for _, c := range token {
		if c <= ' ' || c >= 0x7f {
			return nil, fmt.Errorf("%w: the token in %q must be one word of visible ASCII characters", ErrAdminToken, path)
		}
	}
	return bytes.Clone(token), nil
}

// checkFiles performs Load's filesystem checks: plugin binaries exist and are
// executable regular files (their Command becomes absolute), the TLS
// certificate and key exist, and the admin token file passes ReadAdminToken
// (the token itself is dropped at once).
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
	if c.Admin.Listen != "" && c.Admin.TokenFile != "" {
		p.checkAdminToken()
	}
}

// checkAdminToken reports a token file that serve would refuse.
func (p *parser) checkAdminToken() {
	const key = "admin.token_file"
	path := p.cfg.Admin.TokenFile
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		p.errAt(key, p.block("admin"), "Admin token file not found", fmt.Sprintf("No file at %q.", path))
		return
	}
	token, err := ReadAdminToken(path)
	clear(token)
	if err != nil {
		p.errAt(key, p.block("admin"), "Admin token file not usable",
			strings.TrimPrefix(err.Error(), ErrAdminToken.Error()+": ")+".")
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
