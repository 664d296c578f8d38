package config

import (
	"net/url"
)

// Redacted returns the effective configuration as JSON-ready maps for
// GET /v1/config. Keys follow the HCL attribute names; durations are Go
// duration strings. Secrets are left out: plugin env values and plugin
// config bodies are replaced by "(redacted)" (a config body may hold
// credentials the daemon cannot recognise; its digest is shown instead as
// part of hash), a password in refresh_url or in the storage DSN is masked, and the admin token
// file and the root sealing key ring are only located, never read.
func (c *Config) Redacted() map[string]any {
	g := c.Gateway
	tls := map[string]any{"mode": g.TLS.Mode}
	switch g.TLS.Mode {
	case TLSFiles:
		tls["cert_file"] = g.TLS.CertFile
		tls["key_file"] = g.TLS.KeyFile
	case TLSDev:
		tls["dev_dir"] = g.TLS.DevDir
	}
	plugins := make([]any, 0, len(c.Plugins))
	for i := range c.Plugins {
		plugins = append(plugins, c.Plugins[i].redacted())
	}
	return map[string]any{
		"file":     c.File,
		"data_dir": c.DataDir,
		"log":      map[string]any{"level": c.Log.Level, "format": c.Log.Format},
		"gateway": map[string]any{
			"listen":           g.Listen,
			"tls":              tls,
			"max_body_bytes":   g.MaxBodyBytes,
			"read_timeout":     g.ReadTimeout.String(),
			"write_timeout":    g.WriteTimeout.String(),
			"idle_timeout":     g.IdleTimeout.String(),
			"upstream_timeout": g.UpstreamTimeout.String(),
			"rate_limit": map[string]any{
				"requests_per_second": g.RateLimit.RequestsPerSecond,
				"burst":               g.RateLimit.Burst,
				"enabled":             g.RateLimit.Enabled,
			},
		},
		"clock": map[string]any{
			"max_age":               c.Clock.MaxAge.String(),
			"source":                c.Clock.Source,
			"refresh_url":           redactURL(c.Clock.RefreshURL),
			"authority_fingerprint": c.Clock.AuthorityFingerprint,
			"ntp_servers":           nonNil(c.Clock.NTPServers),
		},
		"rng": map[string]any{"reseed_interval": c.RNG.ReseedInterval.String()},
		"admin": map[string]any{
			"socket":     c.Admin.Socket,
			"listen":     c.Admin.Listen,
			"token_file": c.Admin.TokenFile,
		},
		"storage": c.Storage.redacted(),
		"seal":    c.Seal.redacted(),
		"plugins": plugins,
	}
}

func (pl *Plugin) redacted() map[string]any {
	env := make(map[string]any, len(pl.Env))
	for k := range pl.Env {
		env[k] = redactedValue
	}
	m := map[string]any{
		"name":    pl.Name,
		"command": pl.Command,
		"args":    nonNil(pl.Args),
		"sha256":  pl.SHA256,
		"listen":  pl.Listen,
		"env":     env,
		"hash":    pl.Hash,
		"sandbox": map[string]any{"mode": pl.Sandbox.Mode, "read": nonNil(pl.Sandbox.Read), "write": nonNil(pl.Sandbox.Write),
			"connect": nonNil(pl.Sandbox.Connect)},
	}
	if pl.User != "" {
		m["user"] = pl.User
	}
	if pl.Group != "" {
		m["group"] = pl.Group
	}
	if len(pl.ConfigBody) > 0 {
		m["config"] = redactedValue
	}
	return m
}

func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return redactedValue
	}
	return u.Redacted()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
