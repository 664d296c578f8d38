package config

import (
	"strings"
	"testing"
	"time"
)

func TestEnvOverrides(t *testing.T) {
	const file = `
data_dir = "./file-data"
log {
  level = "warn"
}
gateway {
  listen = "127.0.0.1:7000"
  tls {
    cert_file = "c.pem"
    key_file  = "k.pem"
  }
}
clock {
  max_age = "20s"
}
plugin "crypto" {
  command = "x"
}
plugin "my-hsm" {
  command = "y"
  listen  = "127.0.0.1:7100"
}
`
	fp := strings.Repeat("AB", 32)
	tests := []struct {
		name  string
		env   map[string]string
		check func(*Config) bool
	}{
		{"ok/none", nil, func(c *Config) bool {
			return c.DataDir == "./file-data" && c.Log.Level == "warn" && c.Gateway.TLS.Mode == TLSFiles
		}},
		{"ok/data-dir", map[string]string{EnvDataDir: "/srv/aunsorm"}, func(c *Config) bool {
			return c.DataDir == "/srv/aunsorm" && c.Admin.Socket == "/srv/aunsorm/admin.sock"
		}},
		{"ok/data-dir-trimmed", map[string]string{EnvDataDir: "  /srv/x \n"}, func(c *Config) bool { return c.DataDir == "/srv/x" }},
		{"ok/empty-is-unset", map[string]string{EnvDataDir: ""}, func(c *Config) bool { return c.DataDir == "./file-data" }},
		{"ok/log-flush", map[string]string{EnvLogFlushInterval: "250ms"}, func(c *Config) bool { return c.Log.FlushInterval == 250*time.Millisecond }},
		{"ok/log-flush-off", map[string]string{EnvLogFlushInterval: "0s"}, func(c *Config) bool { return c.Log.FlushInterval == 0 }},
		{"ok/log", map[string]string{EnvLogLevel: "trace", EnvLogFormat: "pretty"}, func(c *Config) bool {
			return c.Log.Level == "trace" && c.Log.Format == "pretty"
		}},
		{"ok/gateway-listen", map[string]string{EnvGatewayListen: "0.0.0.0:8443"}, func(c *Config) bool { return c.Gateway.Listen == "0.0.0.0:8443" }},
		{"ok/tls-disabled", map[string]string{EnvGatewayTLS: "disabled"}, func(c *Config) bool {
			return c.Gateway.TLS.Mode == TLSDisabled && c.Gateway.TLS.CertFile == ""
		}},
		{"ok/tls-dev", map[string]string{EnvGatewayTLS: "dev"}, func(c *Config) bool {
			return c.Gateway.TLS.Mode == TLSDev && c.Gateway.TLS.DevDir == "file-data/tls"
		}},
		{"ok/tls-files-from-env", map[string]string{EnvGatewayTLSCertFile: "/e/c.pem", EnvGatewayTLSKeyFile: "/e/k.pem"}, func(c *Config) bool {
			return c.Gateway.TLS.Mode == TLSFiles && c.Gateway.TLS.CertFile == "/e/c.pem" && c.Gateway.TLS.KeyFile == "/e/k.pem"
		}},
		{"ok/clock-max-age", map[string]string{EnvClockMaxAge: "1m30s"}, func(c *Config) bool { return c.Clock.MaxAge == 90*time.Second }},
		{"ok/clock-max-age-alias-seconds", map[string]string{EnvClockMaxAgeSecs: "90"}, func(c *Config) bool { return c.Clock.MaxAge == 90*time.Second }},
		{"ok/clock-max-age-both-agree", map[string]string{EnvClockMaxAge: "90s", EnvClockMaxAgeSecs: "90"}, func(c *Config) bool { return c.Clock.MaxAge == 90*time.Second }},
		{"ok/clock-fingerprint", map[string]string{EnvClockAuthorityFingerprint: fp}, func(c *Config) bool {
			return c.Clock.AuthorityFingerprint == strings.ToLower(fp)
		}},
		{"ok/clock-fingerprint-alias", map[string]string{EnvCalibrationFingerprint: fp}, func(c *Config) bool {
			return c.Clock.AuthorityFingerprint == strings.ToLower(fp)
		}},
		{"ok/clock-remote", map[string]string{
			EnvClockSource: "remote", EnvClockRefreshURL: "https://t.example/a", EnvClockAuthorityFingerprint: fp,
		}, func(c *Config) bool {
			return c.Clock.Source == ClockRemote && c.Clock.RefreshURL == "https://t.example/a" &&
				c.Clock.AuthorityFingerprint == strings.ToLower(fp)
		}},
		{"ok/rng", map[string]string{EnvRNGReseedInterval: "90s"}, func(c *Config) bool { return c.RNG.ReseedInterval == 90*time.Second }},
		{"ok/admin", map[string]string{EnvAdminSocket: "/run/a.sock", EnvAdminListen: "127.0.0.1:7200", EnvAdminTokenFile: "/t"}, func(c *Config) bool {
			return c.Admin.Socket == "/run/a.sock" && c.Admin.Listen == "127.0.0.1:7200" && c.Admin.TokenFile == "/t"
		}},
		{"ok/plugin-listen", map[string]string{"AUNSORM_PLUGIN_CRYPTO_LISTEN": "127.0.0.1:7300", "AUNSORM_PLUGIN_MY_HSM_LISTEN": "127.0.0.1:7301"}, func(c *Config) bool {
			return c.Plugins[0].Listen == "127.0.0.1:7300" && c.Plugins[1].Listen == "127.0.0.1:7301"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := parseString(file, tt.env)
			if diags.HasErrors() {
				t.Fatal(FormatDiagnostics(diags))
			}
			if !tt.check(c) {
				t.Errorf("unexpected result: %+v", c)
			}
		})
	}
}

func TestEnvErrors(t *testing.T) {
	const file = "plugin \"crypto\" {\n  command = \"x\"\n}\n"
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"fail/max-age-not-integer", map[string]string{EnvClockMaxAgeSecs: "30s"}, []string{
			`AUNSORM_CLOCK_MAX_AGE_SECS: Invalid AUNSORM_CLOCK_MAX_AGE_SECS: "30s" is not a whole, non-negative number of seconds (AUNSORM_CLOCK_MAX_AGE takes a duration such as "30s").`}},
		{"fail/max-age-not-duration", map[string]string{EnvClockMaxAge: "30"}, []string{
			`AUNSORM_CLOCK_MAX_AGE: Invalid AUNSORM_CLOCK_MAX_AGE: "30" is not a duration`}},
		{"fail/max-age-below-minimum", map[string]string{EnvClockMaxAge: "500ms"}, []string{
			"AUNSORM_CLOCK_MAX_AGE: Invalid duration: Set by environment variable AUNSORM_CLOCK_MAX_AGE. max_age must be at least 1s."}},
		{"fail/max-age-alias-conflict", map[string]string{EnvClockMaxAge: "30s", EnvClockMaxAgeSecs: "60"}, []string{
			"AUNSORM_CLOCK_MAX_AGE_SECS: Invalid AUNSORM_CLOCK_MAX_AGE_SECS: AUNSORM_CLOCK_MAX_AGE_SECS is the older name of AUNSORM_CLOCK_MAX_AGE; both are set, to different values."}},
		{"fail/fingerprint-alias-conflict", map[string]string{EnvClockAuthorityFingerprint: strings.Repeat("a", 64), EnvCalibrationFingerprint: strings.Repeat("b", 64)}, []string{
			"AUNSORM_CALIBRATION_FINGERPRINT: Invalid AUNSORM_CALIBRATION_FINGERPRINT: AUNSORM_CALIBRATION_FINGERPRINT is the older name of AUNSORM_CLOCK_AUTHORITY_FINGERPRINT"}},
		{"fail/fingerprint-new-name", map[string]string{EnvClockAuthorityFingerprint: "xyz"}, []string{"AUNSORM_CLOCK_AUTHORITY_FINGERPRINT: Invalid authority fingerprint"}},
		{"fail/max-age-negative", map[string]string{EnvClockMaxAgeSecs: "-1"}, []string{"AUNSORM_CLOCK_MAX_AGE_SECS: Invalid AUNSORM_CLOCK_MAX_AGE_SECS"}},
		{"fail/max-age-zero", map[string]string{EnvClockMaxAgeSecs: "0"}, []string{
			"AUNSORM_CLOCK_MAX_AGE_SECS: Invalid duration: Set by environment variable AUNSORM_CLOCK_MAX_AGE_SECS. max_age must be at least 1s."}},
		{"fail/max-age-overflow", map[string]string{EnvClockMaxAgeSecs: "99999999999999999"}, []string{"AUNSORM_CLOCK_MAX_AGE_SECS: Invalid AUNSORM_CLOCK_MAX_AGE_SECS"}},
		{"fail/log-level", map[string]string{EnvLogLevel: "loud"}, []string{"AUNSORM_LOG_LEVEL: Invalid log level: Set by environment variable AUNSORM_LOG_LEVEL."}},
		{"fail/log-format", map[string]string{EnvLogFormat: "xml"}, []string{"AUNSORM_LOG_FORMAT: Invalid log format"}},
		{"fail/log-flush", map[string]string{EnvLogFlushInterval: "soon"}, []string{"AUNSORM_LOG_FLUSH_INTERVAL: Invalid AUNSORM_LOG_FLUSH_INTERVAL"}},
		{"fail/log-flush-long", map[string]string{EnvLogFlushInterval: "1m"}, []string{
			"AUNSORM_LOG_FLUSH_INTERVAL: Invalid duration: Set by environment variable AUNSORM_LOG_FLUSH_INTERVAL. flush_interval must be between 0s and 10s."}},
		{"fail/data-dir-long", map[string]string{EnvDataDir: "/" + strings.Repeat("d", 110)}, []string{"AUNSORM_DATA_DIR: Invalid admin socket"}},
		{"fail/gateway-listen", map[string]string{EnvGatewayListen: "nope"}, []string{"AUNSORM_GATEWAY_LISTEN: Invalid listen address"}},
		{"fail/gateway-clash", map[string]string{EnvGatewayListen: "0.0.0.0:50012"}, []string{
			`t.hcl:1:1: Port clash: Plugin "crypto" would listen on "127.0.0.1:50012", which overlaps "0.0.0.0:50012" used by the gateway (set by AUNSORM_GATEWAY_LISTEN).`}},
		{"fail/plugin-clash", map[string]string{"AUNSORM_PLUGIN_CRYPTO_LISTEN": "127.0.0.1:50010"}, []string{"AUNSORM_PLUGIN_CRYPTO_LISTEN: Port clash"}},
		{"fail/plugin-listen", map[string]string{"AUNSORM_PLUGIN_CRYPTO_LISTEN": "127.0.0.1"}, []string{"AUNSORM_PLUGIN_CRYPTO_LISTEN: Invalid listen address"}},
		{"fail/tls-mode", map[string]string{EnvGatewayTLS: "on"}, []string{`AUNSORM_GATEWAY_TLS: Invalid AUNSORM_GATEWAY_TLS: "on" is not one of dev, files, disabled.`}},
		{"fail/tls-conflict", map[string]string{EnvGatewayTLS: "disabled", EnvGatewayTLSCertFile: "c"}, []string{"AUNSORM_GATEWAY_TLS: Invalid AUNSORM_GATEWAY_TLS", "AUNSORM_GATEWAY_TLS_CERT_FILE: Incomplete TLS settings"}},
		{"fail/tls-files-without-cert", map[string]string{EnvGatewayTLS: "files"}, []string{"AUNSORM_GATEWAY_TLS: Incomplete TLS settings: Set by environment variable AUNSORM_GATEWAY_TLS. files mode needs cert_file and key_file."}},
		{"fail/tls-key-without-cert", map[string]string{EnvGatewayTLSKeyFile: "k"}, []string{"AUNSORM_GATEWAY_TLS_KEY_FILE: Incomplete TLS settings: Set by environment variable AUNSORM_GATEWAY_TLS_KEY_FILE. cert_file is required"}},
		{"fail/clock-source", map[string]string{EnvClockSource: "gps"}, []string{"AUNSORM_CLOCK_SOURCE: Invalid clock source"}},
		{"fail/remote-incomplete", map[string]string{EnvClockSource: "remote"}, []string{
			"AUNSORM_CLOCK_SOURCE: Missing refresh_url", "AUNSORM_CLOCK_SOURCE: Missing authority_fingerprint"}},
		{"fail/refresh-url-http", map[string]string{EnvClockSource: "remote", EnvClockRefreshURL: "http://x/", EnvCalibrationFingerprint: strings.Repeat("a", 64)}, []string{
			"AUNSORM_CLOCK_REFRESH_URL: Invalid refresh_url"}},
		{"fail/fingerprint", map[string]string{EnvCalibrationFingerprint: "xyz"}, []string{"AUNSORM_CALIBRATION_FINGERPRINT: Invalid authority fingerprint"}},
		{"fail/rng", map[string]string{EnvRNGReseedInterval: "5"}, []string{"AUNSORM_RNG_RESEED_INTERVAL: Invalid AUNSORM_RNG_RESEED_INTERVAL"}},
		{"fail/admin-listen-without-token", map[string]string{EnvAdminListen: "127.0.0.1:7200"}, []string{"AUNSORM_ADMIN_LISTEN: Missing token_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErrors(t, file, tt.env, tt.want)
		})
	}
}

func TestEnvDiagnosticExtra(t *testing.T) {
	_, diags := parseString("", map[string]string{EnvLogLevel: "loud"})
	if len(diags) != 1 {
		t.Fatalf("got %d diagnostics", len(diags))
	}
	ev, ok := diags[0].Extra.(EnvVarExtra)
	if !ok || ev.EnvVar() != EnvLogLevel || diags[0].Subject != nil {
		t.Errorf("diagnostic %+v does not name %s", diags[0], EnvLogLevel)
	}
}

func TestPluginListenEnv(t *testing.T) {
	tests := []struct{ name, want string }{
		{"crypto", "AUNSORM_PLUGIN_CRYPTO_LISTEN"},
		{"my-hsm", "AUNSORM_PLUGIN_MY_HSM_LISTEN"},
		{"x509", "AUNSORM_PLUGIN_X509_LISTEN"},
	}
	for _, tt := range tests {
		t.Run("ok/"+tt.name, func(t *testing.T) {
			if got := PluginListenEnv(tt.name); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStrictForwardedToPlugins(t *testing.T) {
	src := []byte(`plugin "pqc" {
  command = "x"
}
plugin "crypto" {
  command = "y"
  env = { AUNSORM_STRICT = "0" }
}
`)
	env := map[string]string{"AUNSORM_STRICT": "1"}
	cfg, diags := Parse(src, "t.hcl", func(k string) string { return env[k] })
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := cfg.Plugins[0].Env["AUNSORM_STRICT"]; got != "1" {
		t.Fatalf("pqc AUNSORM_STRICT = %q, want forwarded 1", got)
	}
	if got := cfg.Plugins[1].Env["AUNSORM_STRICT"]; got != "0" {
		t.Fatalf("crypto AUNSORM_STRICT = %q, want the block's own 0", got)
	}
	plain, _ := Parse(src, "t.hcl", func(string) string { return "" })
	if plain.Plugins[0].Hash == cfg.Plugins[0].Hash {
		t.Fatal("forwarding strict must change the plugin's hash (a reload swaps it)")
	}
}
