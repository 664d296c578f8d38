package config

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// maxUnixSocketPath is the longest unix socket path Linux accepts
// (sun_path is 108 bytes including the terminating NUL).
const maxUnixSocketPath = 107

// validate checks the merged configuration, fills defaults that depend on
// other values and normalises hex digests to lower case.
func (p *parser) validate() {
	c := p.cfg
	if c.DataDir == "" {
		p.errAt("data_dir", nil, "Invalid data_dir", "data_dir must not be empty.")
	}
	p.oneOf("log.level", "log", "Invalid log level", "level", c.Log.Level, "trace", "debug", "info", "warn", "error")
	p.oneOf("log.format", "log", "Invalid log format", "format", c.Log.Format, "json", "pretty", "auto")
	if c.Log.FlushInterval < 0 || c.Log.FlushInterval > MaxLogFlushInterval {
		p.errAt("log.flush_interval", p.block("log"), "Invalid duration",
			fmt.Sprintf("flush_interval must be between 0s and %s.", MaxLogFlushInterval))
	}
	p.validateGateway()
	p.validateClock()
	if c.RNG.ReseedInterval < MinRNGReseedInterval {
		p.errAt("rng.reseed_interval", p.block("rng"), "Invalid duration",
			fmt.Sprintf("reseed_interval must be at least %s.", MinRNGReseedInterval))
	}
	p.validateAdmin()
	p.validatePlugins()
	p.validateListeners()
}

// errAt adds an error about the value stored under key; see diagAt.
func (p *parser) errAt(key string, fallback *hcl.Range, summary, detail string) {
	p.diags = append(p.diags, p.diagAt(hcl.DiagError, key, fallback, summary, detail))
}

func (p *parser) warnAt(key string, fallback *hcl.Range, summary, detail string) {
	p.diags = append(p.diags, p.diagAt(hcl.DiagWarning, key, fallback, summary, detail))
}

// diagAt builds a diagnostic about the value stored under key: its subject is
// the attribute that set it, or it names the environment variable that did,
// or (for defaults) it falls back to the given range.
func (p *parser) diagAt(sev hcl.DiagnosticSeverity, key string, fallback *hcl.Range, summary, detail string) *hcl.Diagnostic {
	d := &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail}
	src, ok := p.from[key]
	switch {
	case ok && src.env != "":
		d.Detail = fmt.Sprintf("Set by environment variable %s. %s", src.env, detail)
		d.Extra = envExtra(src.env)
	case ok && src.rng != nil:
		d.Subject = src.rng
	default:
		d.Subject = fallback
	}
	return d
}

// block returns the header range of the first of the given blocks present
// in the file, or nil.
func (p *parser) block(keys ...string) *hcl.Range {
	for _, k := range keys {
		if r, ok := p.blocks[k]; ok {
			return r.Ptr()
		}
	}
	return nil
}

// describe says where the value stored under key came from.
func (p *parser) describe(key string) string {
	src, ok := p.from[key]
	switch {
	case ok && src.env != "":
		return "set by " + src.env
	case ok && src.rng != nil:
		return "at " + posString(*src.rng)
	default:
		return "by default"
	}
}

func (p *parser) oneOf(key, block, summary, attr, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	p.errAt(key, p.block(block), summary,
		fmt.Sprintf("%s must be one of %s; got %q.", attr, strings.Join(allowed, ", "), truncate(got)))
}

func (p *parser) validateGateway() {
	g := &p.cfg.Gateway
	gw := p.block("gateway")
	if _, problem := parseListen(g.Listen); problem != "" {
		p.errAt("gateway.listen", gw, "Invalid listen address", problem+".")
	}
	if g.MaxBodyBytes < 1 {
		p.errAt("gateway.max_body_bytes", gw, "Invalid max_body_bytes", "max_body_bytes must be at least 1.")
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{
		{"read_timeout", g.ReadTimeout},
		{"write_timeout", g.WriteTimeout},
		{"idle_timeout", g.IdleTimeout},
		{"upstream_timeout", g.UpstreamTimeout},
	} {
		if t.d <= 0 {
			p.errAt("gateway."+t.name, gw, "Invalid duration", t.name+" must be greater than zero.")
		}
	}

	rl := &g.RateLimit
	rlBlock := p.block("gateway.rate_limit", "gateway")
	if rl.RequestsPerSecond < 0 {
		p.errAt("gateway.rate_limit.requests_per_second", rlBlock, "Invalid rate limit",
			"requests_per_second must not be negative; 0 disables rate limiting.")
	}
	rl.Enabled = rl.RequestsPerSecond > 0
	if rl.Burst < 0 || (rl.Enabled && rl.Burst < 1) {
		p.errAt("gateway.rate_limit.burst", rlBlock, "Invalid rate limit", "burst must be at least 1.")
	}

	t := &g.TLS
	tlsBlock := p.block("gateway.tls", "gateway")
	switch t.Mode {
	case TLSFiles:
		switch {
		case t.CertFile == "" && t.KeyFile == "":
			p.errAt("gateway.tls.mode", tlsBlock, "Incomplete TLS settings",
				"files mode needs cert_file and key_file.")
		case t.CertFile == "":
			p.errAt("gateway.tls.mode", tlsBlock, "Incomplete TLS settings",
				"cert_file is required with key_file (files mode).")
		case t.KeyFile == "":
			p.errAt("gateway.tls.mode", tlsBlock, "Incomplete TLS settings",
				"key_file is required with cert_file (files mode).")
		}
	case TLSDisabled:
		p.warnAt("gateway.tls.mode", tlsBlock, "Gateway TLS disabled",
			"The gateway serves plain HTTP; use this only behind a TLS-terminating proxy or for local tests.")
	case TLSDev:
		t.DevDir = filepath.Join(p.cfg.DataDir, DefaultDevTLSDirName)
	}
}

func (p *parser) validateClock() {
	c := &p.cfg.Clock
	blk := p.block("clock")
	if c.MaxAge < MinClockMaxAge {
		p.errAt("clock.max_age", blk, "Invalid duration",
			fmt.Sprintf("max_age must be at least %s.", MinClockMaxAge))
	}
	p.oneOf("clock.source", "clock", "Invalid clock source", "source", c.Source, ClockLocal, ClockRemote)

	if c.AuthorityFingerprint != "" {
		if !isHex(c.AuthorityFingerprint, 64) {
			p.errAt("clock.authority_fingerprint", blk, "Invalid authority fingerprint",
				"authority_fingerprint must be the SHA-256 of the authority public key as 64 hexadecimal characters.")
		} else {
			c.AuthorityFingerprint = strings.ToLower(c.AuthorityFingerprint)
		}
	}

	switch c.Source {
	case ClockRemote:
		if c.RefreshURL == "" {
			p.errAt("clock.source", blk, "Missing refresh_url",
				`source = "remote" needs refresh_url, the https:// address of the remote attestor.`)
		} else if problem := checkRefreshURL(c.RefreshURL); problem != "" {
			p.errAt("clock.refresh_url", blk, "Invalid refresh_url", problem)
		}
		if c.AuthorityFingerprint == "" {
			p.errAt("clock.source", blk, "Missing authority_fingerprint",
				`source = "remote" needs authority_fingerprint, the pinned SHA-256 of the remote authority's public key.`)
		}
		if len(c.NTPServers) > 0 {
			p.errAt("clock.ntp_servers", blk, "Unexpected ntp_servers",
				`ntp_servers is only used with source = "local".`)
		}
	case ClockLocal:
		if c.RefreshURL != "" {
			p.errAt("clock.refresh_url", blk, "Unexpected refresh_url",
				`refresh_url is only used with source = "remote".`)
		}
		for _, s := range c.NTPServers {
			if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) || len(s) > 260 {
				p.errAt("clock.ntp_servers", blk, "Invalid ntp_servers",
					fmt.Sprintf("%q is not a server name or host:port.", truncate(s)))
			}
		}
	}
}

// checkRefreshURL returns a problem with a remote attestor URL, or "".
func checkRefreshURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "refresh_url must be an absolute https:// URL."
	}
	if u.Scheme != "https" {
		return fmt.Sprintf("refresh_url must use https, not %q.", truncate(u.Scheme))
	}
	return ""
}

func (p *parser) validateAdmin() {
	a := &p.cfg.Admin
	blk := p.block("admin")
	socketKey := "admin.socket"
	if _, set := p.from[socketKey]; !set && a.Socket == "" {
		a.Socket = filepath.Join(p.cfg.DataDir, DefaultAdminSocketName)
		socketKey = "data_dir" // the default follows data_dir
	}
	switch {
	case a.Socket == "":
		p.errAt(socketKey, blk, "Invalid admin socket", "socket must not be empty.")
	case len(a.Socket) > maxUnixSocketPath:
		p.errAt(socketKey, blk, "Invalid admin socket",
			fmt.Sprintf("The socket path is %d bytes; unix socket paths are limited to %d. Use a shorter data_dir or set socket.",
				len(a.Socket), maxUnixSocketPath))
	}
	if a.Listen != "" {
		if ep, problem := parseListen(a.Listen); problem != "" {
			p.errAt("admin.listen", blk, "Invalid listen address", problem+".")
		} else if !ep.loopback() && p.cfg.Gateway.TLS.Mode == TLSDisabled {
			p.errAt("admin.listen", blk, "Admin listener needs TLS",
				fmt.Sprintf("%q is not a loopback address, so the admin API would carry its bearer token in clear; it serves TLS with the gateway's certificate (the dev CA's or cert_file), which gateway.tls disables. Listen on 127.0.0.1 or ::1, or enable gateway TLS.", truncate(a.Listen)))
		}
		if a.TokenFile == "" {
			p.errAt("admin.listen", blk, "Missing token_file",
				"The admin API's TCP listener requires token_file, a file holding the bearer token.")
		}
	} else if a.TokenFile != "" {
		p.errAt("admin.token_file", blk, "Unexpected token_file",
			"token_file is only used with listen (the admin API's TCP listener).")
	}
}

func (p *parser) validatePlugins() {
	seen := map[string]int{}
	for i := range p.cfg.Plugins {
		pl := &p.cfg.Plugins[i]
		key := fmt.Sprintf("plugin.%d", i)
		decl := pl.DeclRange.Ptr()
		if !validPluginName(pl.Name) {
			p.errAt(key+".name", decl, "Invalid plugin name",
				fmt.Sprintf("%q: a plugin name is 1 to 63 characters of a-z, 0-9 and '-', starting with a letter.", truncate(pl.Name)))
		} else if first, dup := seen[pl.Name]; dup {
			p.errAt(key+".name", decl, "Duplicate plugin block",
				fmt.Sprintf("A plugin block named %q is already defined at %s; each plugin name may appear once.", pl.Name, posString(p.cfg.Plugins[first].DeclRange)))
		} else {
			seen[pl.Name] = i
		}

		if _, set := p.from[key+".command"]; set && (pl.Command == "" || strings.ContainsRune(pl.Command, 0)) {
			p.errAt(key+".command", decl, "Invalid command", "command must be the path of the plugin binary.")
		}
		for _, a := range pl.Args {
			if strings.ContainsRune(a, 0) {
				p.errAt(key+".args", decl, "Invalid args", "An argument contains a NUL byte.")
				break
			}
		}
		if _, set := p.from[key+".sha256"]; set {
			if !isHex(pl.SHA256, 64) {
				p.errAt(key+".sha256", decl, "Invalid sha256 pin",
					"sha256 must be the binary's SHA-256 digest as 64 hexadecimal characters (`aunsormd plugin sha256 PATH` prints it).")
			} else {
				pl.SHA256 = strings.ToLower(pl.SHA256)
			}
		}
		p.validatePluginListen(pl, key)
		p.validatePluginEnv(pl, key)
		p.validatePluginSandbox(pl, key)
	}
}

func (p *parser) validatePluginSandbox(pl *Plugin, key string) {
	decl := pl.DeclRange.Ptr()
	p.oneOf(key+".sandbox", "", "Invalid sandbox mode", "sandbox", pl.Sandbox.Mode, SandboxAuto, SandboxRequired, SandboxOff)
	for _, f := range []struct {
		attr  string
		paths []string
	}{{"sandbox_read", pl.Sandbox.Read}, {"sandbox_write", pl.Sandbox.Write}} {
		attr := f.attr
		for _, s := range f.paths {
			if !filepath.IsAbs(s) || filepath.Clean(s) != s || strings.ContainsRune(s, 0) {
				p.errAt(key+"."+attr, decl, "Invalid sandbox path",
					fmt.Sprintf("%q: %s takes absolute, clean paths (no \"..\", no trailing slash).", truncate(s), attr))
				break
			}
		}
	}
}

func (p *parser) validatePluginListen(pl *Plugin, key string) {
	if _, set := p.from[key+".listen"]; !set {
		def, known := DefaultPluginListen(pl.Name)
		if !known && !validPluginName(pl.Name) {
			return // the name is already reported
		}
		if !known {
			p.errAt(key+".listen", pl.DeclRange.Ptr(), "Missing listen address",
				fmt.Sprintf("Plugin %q has no default port; set listen (for example \"127.0.0.1:50030\").", truncate(pl.Name)))
			return
		}
		pl.Listen = def
	}
	ep, problem := parseListen(pl.Listen)
	if problem != "" {
		p.errAt(key+".listen", pl.DeclRange.Ptr(), "Invalid listen address", problem+".")
		return
	}
	if !ep.loopback() {
		p.warnAt(key+".listen", pl.DeclRange.Ptr(), "Plugin listener not on loopback",
			fmt.Sprintf("Plugin %q listens on %q: clients can reach it directly, bypassing the gateway's TLS, rate limits and calibration check.", pl.Name, pl.Listen))
	}
}

func (p *parser) validatePluginEnv(pl *Plugin, key string) {
	for _, k := range sortedKeys(pl.Env) {
		switch {
		case !validEnvName(k):
			p.errAt(key+".env", pl.DeclRange.Ptr(), "Invalid env",
				fmt.Sprintf("%q is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*).", truncate(k)))
		case strings.HasPrefix(strings.ToUpper(k), "PLUGIN_"):
			p.errAt(key+".env", pl.DeclRange.Ptr(), "Invalid env",
				fmt.Sprintf("%q: names starting with PLUGIN_ are reserved for the plugin handshake.", truncate(k)))
		case strings.ContainsRune(pl.Env[k], 0):
			p.errAt(key+".env", pl.DeclRange.Ptr(), "Invalid env",
				fmt.Sprintf("The value of %q contains a NUL byte.", truncate(k)))
		}
	}
}

// listener is one TCP listener the daemon opens, for the clash check.
type listener struct {
	what     string
	key      string
	fallback *hcl.Range
	ep       endpoint
	addr     string
}

// validateListeners reports two listeners (gateway, admin TCP, plugins) on
// the same port of overlapping hosts, at the later one.
func (p *parser) validateListeners() {
	c := p.cfg
	var ls []listener
	add := func(what, key string, fallback *hcl.Range, addr string) {
		if ep, problem := parseListen(addr); problem == "" {
			ls = append(ls, listener{what: what, key: key, fallback: fallback, ep: ep, addr: addr})
		}
	}
	add("the gateway", "gateway.listen", p.block("gateway"), c.Gateway.Listen)
	if c.Admin.Listen != "" {
		add("the admin API", "admin.listen", p.block("admin"), c.Admin.Listen)
	}
	named := map[string]bool{}
	for i := range c.Plugins {
		if named[c.Plugins[i].Name] {
			continue // a duplicate block, reported as such: not also a clash
		}
		named[c.Plugins[i].Name] = true
		if c.Plugins[i].Listen != "" {
			add(fmt.Sprintf("plugin %q", c.Plugins[i].Name), fmt.Sprintf("plugin.%d.listen", i),
				c.Plugins[i].DeclRange.Ptr(), c.Plugins[i].Listen)
		}
	}
	for j := 1; j < len(ls); j++ {
		for i := 0; i < j; i++ {
			if ls[i].ep.clashes(ls[j].ep) {
				p.errAt(ls[j].key, ls[j].fallback, "Port clash",
					fmt.Sprintf("%s would listen on %q, which overlaps %q used by %s (%s).",
						capitalize(ls[j].what), ls[j].addr, ls[i].addr, ls[i].what, p.describe(ls[i].key)))
				break
			}
		}
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// validPluginName reports whether s matches [a-z][a-z0-9-]{0,62}.
func validPluginName(s string) bool {
	if s == "" || len(s) > 63 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isHex reports whether s is exactly n hexadecimal characters.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
