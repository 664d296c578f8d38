package config

import (
	"strings"
	"testing"
)

// errorLines returns the rendered error lines (warnings dropped).
func errorLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l != "" && !strings.Contains(l, ": warning: ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// checkErrors asserts that Parse failed with exactly the wanted errors, each
// given as the prefix of its rendered line ("t.hcl:3:12: Summary").
func checkErrors(t *testing.T, src string, env map[string]string, want []string) {
	t.Helper()
	c, diags := parseString(src, env)
	if c != nil || !diags.HasErrors() {
		t.Fatalf("Parse succeeded; want errors %q", want)
	}
	out := FormatDiagnostics(diags)
	got := errorLines(out)
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), out)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got  %s\n want %s...", i, got[i], want[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		// Syntax and schema.
		{"fail/syntax", "gateway {\n  listen = \n}\n", []string{"t.hcl:2:12: Invalid expression"}},
		{"fail/unclosed-block", "gateway {\n", []string{"t.hcl:1:9: Unclosed configuration block"}},
		{"fail/unknown-attribute", "gateway {\n  lisen = \"x\"\n}\n", []string{`t.hcl:2:3: Unsupported argument: An argument named "lisen" is not expected here. Did you mean "listen"?`}},
		{"fail/unknown-top-attribute", "datadir = \"x\"\n", []string{"t.hcl:1:1: Unsupported argument"}},
		{"fail/unknown-block", "gatway {\n}\n", []string{`t.hcl:1:1: Unsupported block type: Blocks of type "gatway" are not expected here. Did you mean "gateway"?`}},
		{"fail/unknown-plugin-attribute", "plugin \"crypto\" {\n  command = \"x\"\n  port = 1\n}\n", []string{"t.hcl:3:3: Unsupported argument"}},
		{"fail/attribute-as-block", "log = \"info\"\n", []string{"t.hcl:1:1: Unsupported argument"}},
		{"fail/duplicate-block", "gateway {}\nclock {}\ngateway {}\n", []string{"t.hcl:3:1: Duplicate gateway block: Only one gateway block is allowed here; the first is at t.hcl:1:1."}},
		{"fail/duplicate-tls-block", "gateway {\n  tls {}\n  tls {}\n}\n", []string{"t.hcl:3:3: Duplicate tls block"}},
		{"fail/duplicate-config-block", "plugin \"crypto\" {\n  command = \"x\"\n  config {}\n  config {}\n}\n", []string{"t.hcl:4:3: Duplicate config block"}},
		{"fail/config-block-label", "plugin \"crypto\" {\n  command = \"x\"\n  config \"a\" {}\n}\n", []string{"t.hcl:3:10: Extraneous label for config"}},
		{"fail/plugin-without-label", "plugin {\n  command = \"x\"\n}\n", []string{"t.hcl:1:8: Missing name for plugin"}},
		{"fail/missing-command", "plugin \"crypto\" {\n}\n", []string{`t.hcl:1:17: Missing required argument: The argument "command" is required`}},

		// Types.
		{"fail/string-is-number", "gateway {\n  listen = 50010\n}\n", []string{`t.hcl:2:12: Incorrect attribute value type: Inappropriate value for attribute "listen": string required.`}},
		{"fail/number-is-string", "gateway {\n  max_body_bytes = \"1MiB\"\n}\n", []string{`t.hcl:2:20: Incorrect attribute value type: Inappropriate value for attribute "max_body_bytes": whole number required.`}},
		{"fail/not-whole", "gateway {\n  rate_limit {\n    burst = 1.5\n  }\n}\n", []string{"t.hcl:3:13: Incorrect attribute value type"}},
		{"fail/float-is-bool", "gateway {\n  rate_limit {\n    requests_per_second = true\n  }\n}\n", []string{"t.hcl:3:27: Incorrect attribute value type"}},
		{"fail/bool-is-string", "gateway {\n  tls {\n    dev = \"yes\"\n  }\n}\n", []string{`t.hcl:3:11: Incorrect attribute value type: Inappropriate value for attribute "dev": bool required.`}},
		{"fail/list-is-string", "plugin \"crypto\" {\n  command = \"x\"\n  args = \"-v\"\n}\n", []string{"t.hcl:3:10: Incorrect attribute value type"}},
		{"fail/list-of-numbers", "plugin \"crypto\" {\n  command = \"x\"\n  args = [\"-v\", 3]\n}\n", []string{"t.hcl:3:10: Incorrect attribute value type"}},
		{"fail/map-is-list", "plugin \"crypto\" {\n  command = \"x\"\n  env = [\"A\"]\n}\n", []string{"t.hcl:3:9: Incorrect attribute value type"}},
		{"fail/map-of-numbers", "plugin \"crypto\" {\n  command = \"x\"\n  env = { A = 1 }\n}\n", []string{"t.hcl:3:9: Incorrect attribute value type"}},
		{"fail/variable", "data_dir = var.dir\n", []string{"t.hcl:1:12: Variables not allowed"}},
		{"fail/function", "data_dir = lower(\"X\")\n", []string{"t.hcl:1:12: Function calls not allowed"}},

		// Durations.
		{"fail/duration-without-unit", "gateway {\n  read_timeout = \"30\"\n}\n", []string{`t.hcl:2:18: Invalid duration: Attribute "read_timeout": "30" is not a duration`}},
		{"fail/duration-negative", "clock {\n  max_age = \"-5s\"\n}\n", []string{`t.hcl:2:13: Invalid duration: Attribute "max_age": "-5s" is negative.`}},
		{"fail/duration-is-number", "rng {\n  reseed_interval = 300\n}\n", []string{`t.hcl:2:21: Incorrect attribute value type: Inappropriate value for attribute "reseed_interval": duration string (e.g. "30s", "5m") required.`}},
		{"fail/duration-zero", "gateway {\n  upstream_timeout = \"0s\"\n}\n", []string{"t.hcl:2:22: Invalid duration: upstream_timeout must be greater than zero."}},
		{"fail/max-age-below-minimum", "clock {\n  max_age = \"500ms\"\n}\n", []string{"t.hcl:2:13: Invalid duration: max_age must be at least 1s."}},
		{"fail/log-flush-too-long", "log {\n  flush_interval = \"11s\"\n}\n", []string{"t.hcl:2:20: Invalid duration: flush_interval must be between 0s and 10s."}},
		{"fail/sandbox-mode", "plugin \"crypto\" {\n  command = \"/bin/true\"\n  sandbox = \"strict\"\n}\n", []string{`t.hcl:3:13: Invalid sandbox mode: sandbox must be one of auto, required, off; got "strict".`}},
		{"fail/sandbox-relative", "plugin \"crypto\" {\n  command = \"/bin/true\"\n  sandbox_read = [\"etc/x\"]\n}\n", []string{`t.hcl:3:18: Invalid sandbox path: "etc/x": sandbox_read takes absolute, clean paths`}},
		{"fail/sandbox-unclean", "plugin \"crypto\" {\n  command = \"/bin/true\"\n  sandbox_write = [\"/var/lib/../x\"]\n}\n", []string{`t.hcl:3:19: Invalid sandbox path: "/var/lib/../x": sandbox_write takes absolute, clean paths`}},
		{"fail/sandbox-port", "plugin \"crypto\" {\n  command = \"/bin/true\"\n  sandbox_connect = [0]\n}\n", []string{`t.hcl:3:21: Incorrect attribute value type: Inappropriate value for attribute "sandbox_connect": list of port numbers (1-65535) required.`}},
		{"fail/sandbox-port-string", "plugin \"crypto\" {\n  command = \"/bin/true\"\n  sandbox_connect = [\"443\"]\n}\n", []string{`t.hcl:3:21: Incorrect attribute value type`}},
		{"fail/reseed-below-minimum", "rng {\n  reseed_interval = \"10ms\"\n}\n", []string{"t.hcl:2:21: Invalid duration: reseed_interval must be at least 1s."}},

		// Values.
		{"fail/data-dir-empty", "data_dir = \"\"\n", []string{"t.hcl:1:12: Invalid data_dir"}},
		{"fail/log-level", "log {\n  level = \"loud\"\n}\n", []string{`t.hcl:2:11: Invalid log level: level must be one of trace, debug, info, warn, error; got "loud".`}},
		{"fail/log-format", "log {\n  format = \"xml\"\n}\n", []string{"t.hcl:2:12: Invalid log format"}},
		{"fail/listen-no-port", "gateway {\n  listen = \"localhost\"\n}\n", []string{`t.hcl:2:12: Invalid listen address: "localhost" is not a host:port address`}},
		{"fail/listen-port-range", "gateway {\n  listen = \"127.0.0.1:70000\"\n}\n", []string{"t.hcl:2:12: Invalid listen address"}},
		{"fail/listen-bad-host", "gateway {\n  listen = \"exa mple:80\"\n}\n", []string{"t.hcl:2:12: Invalid listen address"}},
		{"fail/max-body-zero", "gateway {\n  max_body_bytes = 0\n}\n", []string{"t.hcl:2:20: Invalid max_body_bytes"}},
		{"fail/rate-negative", "gateway {\n  rate_limit {\n    requests_per_second = -1\n  }\n}\n", []string{"t.hcl:3:27: Invalid rate limit: requests_per_second must not be negative"}},
		{"fail/burst-zero", "gateway {\n  rate_limit {\n    burst = 0\n  }\n}\n", []string{"t.hcl:3:13: Invalid rate limit: burst must be at least 1."}},

		// TLS.
		{"fail/tls-dev-and-files", "gateway {\n  tls {\n    dev = true\n    cert_file = \"c\"\n    key_file = \"k\"\n  }\n}\n", []string{"t.hcl:3:11: Conflicting TLS settings"}},
		{"fail/tls-disabled-and-dev", "gateway {\n  tls {\n    dev = true\n    disabled = true\n  }\n}\n", []string{"t.hcl:4:16: Conflicting TLS settings"}},
		{"fail/tls-cert-without-key", "gateway {\n  tls {\n    cert_file = \"c\"\n  }\n}\n", []string{"t.hcl:3:17: Incomplete TLS settings: key_file is required with cert_file (files mode)."}},
		{"fail/tls-dev-false", "gateway {\n  tls {\n    dev = false\n  }\n}\n", []string{"t.hcl:3:11: Incomplete TLS settings"}},

		// Clock.
		{"fail/clock-source", "clock {\n  source = \"ntp\"\n}\n", []string{`t.hcl:2:12: Invalid clock source: source must be one of local, remote; got "ntp".`}},
		{"fail/refresh-url-http", "clock {\n  source = \"remote\"\n  refresh_url = \"http://a.example/clock\"\n  authority_fingerprint = \"" + strings.Repeat("ab", 32) + "\"\n}\n", []string{`t.hcl:3:17: Invalid refresh_url: refresh_url must use https, not "http".`}},
		{"fail/refresh-url-relative", "clock {\n  source = \"remote\"\n  refresh_url = \"/clock\"\n  authority_fingerprint = \"" + strings.Repeat("ab", 32) + "\"\n}\n", []string{"t.hcl:3:17: Invalid refresh_url: refresh_url must be an absolute https:// URL."}},
		{"fail/remote-missing-url-and-fingerprint", "clock {\n  source = \"remote\"\n}\n", []string{"t.hcl:2:12: Missing refresh_url", "t.hcl:2:12: Missing authority_fingerprint"}},
		{"fail/refresh-url-in-local", "clock {\n  refresh_url = \"https://a.example/\"\n}\n", []string{"t.hcl:2:17: Unexpected refresh_url"}},
		{"fail/fingerprint-short", "clock {\n  authority_fingerprint = \"abcd\"\n}\n", []string{"t.hcl:2:27: Invalid authority fingerprint"}},
		{"fail/fingerprint-not-hex", "clock {\n  authority_fingerprint = \"" + strings.Repeat("zz", 32) + "\"\n}\n", []string{"t.hcl:2:27: Invalid authority fingerprint"}},
		{"fail/ntp-in-remote", "clock {\n  source = \"remote\"\n  refresh_url = \"https://a.example/\"\n  authority_fingerprint = \"" + strings.Repeat("ab", 32) + "\"\n  ntp_servers = [\"pool.ntp.org\"]\n}\n", []string{"t.hcl:5:17: Unexpected ntp_servers"}},
		{"fail/ntp-empty-name", "clock {\n  ntp_servers = [\"\"]\n}\n", []string{"t.hcl:2:17: Invalid ntp_servers"}},

		// Admin.
		{"fail/admin-listen-without-token", "admin {\n  listen = \"127.0.0.1:50020\"\n}\n", []string{"t.hcl:2:12: Missing token_file"}},
		{"fail/admin-token-without-listen", "admin {\n  token_file = \"t\"\n}\n", []string{"t.hcl:2:16: Unexpected token_file"}},
		{"fail/admin-remote-without-tls", "gateway {\n  tls {\n    disabled = true\n  }\n}\nadmin {\n  listen = \"0.0.0.0:50020\"\n  token_file = \"t\"\n}\n", []string{`t.hcl:7:12: Admin listener needs TLS: "0.0.0.0:50020" is not a loopback address`}},
		{"fail/admin-remote-host-without-tls", "gateway {\n  tls {\n    disabled = true\n  }\n}\nadmin {\n  listen = \"admin.example:50020\"\n  token_file = \"t\"\n}\n", []string{`t.hcl:7:12: Admin listener needs TLS`}},
		{"fail/admin-bad-listen", "admin {\n  listen = \"x\"\n  token_file = \"t\"\n}\n", []string{"t.hcl:2:12: Invalid listen address"}},
		{"fail/admin-socket-too-long", "admin {\n  socket = \"/" + strings.Repeat("s", 120) + "\"\n}\n", []string{"t.hcl:2:12: Invalid admin socket"}},
		{"fail/admin-socket-default-too-long", "data_dir = \"/" + strings.Repeat("d", 110) + "\"\n", []string{"t.hcl:1:12: Invalid admin socket"}},

		// Plugins.
		{"fail/plugin-name-upper", "plugin \"Crypto\" {\n  command = \"x\"\n  listen = \"127.0.0.1:6000\"\n}\n", []string{`t.hcl:1:8: Invalid plugin name: "Crypto"`}},
		{"fail/plugin-name-underscore", "plugin \"my_hsm\" {\n  command = \"x\"\n  listen = \"127.0.0.1:6000\"\n}\n", []string{"t.hcl:1:8: Invalid plugin name"}},
		{"fail/duplicate-plugin", "plugin \"crypto\" {\n  command = \"a\"\n}\nplugin \"crypto\" {\n  command = \"b\"\n  listen = \"127.0.0.1:6000\"\n}\n", []string{`t.hcl:4:8: Duplicate plugin block: A plugin block named "crypto" is already defined at t.hcl:1:1; each plugin name may appear once.`}},
		{"fail/duplicate-plugin-same-port", "plugin \"crypto\" {\n  command = \"a\"\n}\nplugin \"crypto\" {\n  command = \"a\"\n}\n", []string{`t.hcl:4:8: Duplicate plugin block: A plugin block named "crypto" is already defined at t.hcl:1:1`}},
		{"fail/empty-command", "plugin \"crypto\" {\n  command = \"\"\n}\n", []string{"t.hcl:2:13: Invalid command"}},
		{"fail/unknown-plugin-needs-listen", "plugin \"my-hsm\" {\n  command = \"x\"\n}\n", []string{`t.hcl:1:1: Missing listen address: Plugin "my-hsm" has no default port`}},
		{"fail/plugin-bad-listen", "plugin \"crypto\" {\n  command = \"x\"\n  listen = \"50012\"\n}\n", []string{"t.hcl:3:12: Invalid listen address"}},
		{"fail/sha256-short", "plugin \"crypto\" {\n  command = \"x\"\n  sha256 = \"abc\"\n}\n", []string{"t.hcl:3:12: Invalid sha256 pin"}},
		{"fail/sha256-not-hex", "plugin \"crypto\" {\n  command = \"x\"\n  sha256 = \"" + strings.Repeat("g", 64) + "\"\n}\n", []string{"t.hcl:3:12: Invalid sha256 pin"}},
		{"fail/env-bad-name", "plugin \"crypto\" {\n  command = \"x\"\n  env = { \"A-B\" = \"1\" }\n}\n", []string{`t.hcl:3:9: Invalid env: "A-B" is not a valid environment variable name`}},
		{"fail/env-reserved", "plugin \"crypto\" {\n  command = \"x\"\n  env = { PLUGIN_MIN_PORT = \"1\" }\n}\n", []string{`t.hcl:3:9: Invalid env: "PLUGIN_MIN_PORT": names starting with PLUGIN_ are reserved`}},

		// Port clashes.
		{"fail/clash-gateway-plugin", "plugin \"crypto\" {\n  command = \"x\"\n  listen = \"127.0.0.1:50010\"\n}\n", []string{`t.hcl:3:12: Port clash: Plugin "crypto" would listen on "127.0.0.1:50010", which overlaps "127.0.0.1:50010" used by the gateway (by default).`}},
		{"fail/clash-wildcard-default", "gateway {\n  listen = \"0.0.0.0:50012\"\n}\nplugin \"crypto\" {\n  command = \"x\"\n}\n", []string{`t.hcl:4:1: Port clash: Plugin "crypto" would listen on "127.0.0.1:50012", which overlaps "0.0.0.0:50012" used by the gateway (at t.hcl:2:12).`}},
		{"fail/clash-empty-host", "plugin \"a\" {\n  command = \"x\"\n  listen = \":6000\"\n}\nplugin \"b\" {\n  command = \"x\"\n  listen = \"127.0.0.1:6000\"\n}\n", []string{"t.hcl:7:12: Port clash"}},
		{"fail/clash-ipv6-wildcard", "plugin \"a\" {\n  command = \"x\"\n  listen = \"[::]:6000\"\n}\nplugin \"b\" {\n  command = \"x\"\n  listen = \"[::1]:6000\"\n}\n", []string{"t.hcl:7:12: Port clash"}},
		{"fail/clash-localhost", "plugin \"a\" {\n  command = \"x\"\n  listen = \"localhost:6000\"\n}\nplugin \"b\" {\n  command = \"x\"\n  listen = \"127.0.0.1:6000\"\n}\n", []string{"t.hcl:7:12: Port clash"}},
		{"fail/clash-admin", "admin {\n  listen = \"127.0.0.1:50010\"\n  token_file = \"t\"\n}\n", []string{"t.hcl:2:12: Port clash"}},
		{"fail/clash-two-defaults", "plugin \"x\" {\n  command = \"x\"\n  listen = \"127.0.0.1:50018\"\n}\nplugin \"pqc\" {\n  command = \"x\"\n}\n", []string{"t.hcl:5:1: Port clash"}},
		{"fail/several-classes-at-once", "gateway {\n  lisen = \"x\"\n  read_timeout = \"5\"\n}\nplugin \"crypto\" {\n  command = \"x\"\n  listen = \"127.0.0.1:50010\"\n}\n", []string{"t.hcl:2:3: Unsupported argument", "t.hcl:3:18: Invalid duration", "t.hcl:7:12: Port clash"}},
		{"fail/errors-in-several-blocks", "log {\n  level = \"loud\"\n}\nrng {\n  reseed_interval = \"0s\"\n}\n", []string{"t.hcl:2:11: Invalid log level", "t.hcl:5:21: Invalid duration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErrors(t, tt.src, nil, tt.want)
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(*Config) bool
	}{
		{"ok/admin-remote-with-dev-tls", "admin {\n  listen = \"0.0.0.0:50020\"\n  token_file = \"t\"\n}\n", func(c *Config) bool { return c.Admin.Listen == "0.0.0.0:50020" }},
		{"ok/admin-loopback-without-tls", "gateway {\n  tls {\n    disabled = true\n  }\n}\nadmin {\n  listen = \"[::1]:50020\"\n  token_file = \"t\"\n}\n", func(c *Config) bool { return c.Admin.Listen == "[::1]:50020" }},
		{"ok/null-is-unset", "gateway {\n  listen = null\n}\n", func(c *Config) bool { return c.Gateway.Listen == DefaultGatewayListen }},
		{"ok/no-clash-different-ips", "plugin \"a\" {\n  command = \"x\"\n  listen = \"127.0.0.2:50010\"\n}\n", func(c *Config) bool { return c.Plugins[0].Listen == "127.0.0.2:50010" }},
		{"ok/port-zero-never-clashes", "plugin \"a\" {\n  command = \"x\"\n  listen = \"127.0.0.1:0\"\n}\nplugin \"b\" {\n  command = \"x\"\n  listen = \"127.0.0.1:0\"\n}\n", func(c *Config) bool { return len(c.Plugins) == 2 }},
		{"ok/sha256-lowercased", "plugin \"crypto\" {\n  command = \"x\"\n  sha256 = \"" + strings.Repeat("AB", 32) + "\"\n}\n", func(c *Config) bool { return c.Plugins[0].SHA256 == strings.Repeat("ab", 32) }},
		{"ok/fingerprint-lowercased", "clock {\n  authority_fingerprint = \"" + strings.Repeat("CD", 32) + "\"\n}\n", func(c *Config) bool { return c.Clock.AuthorityFingerprint == strings.Repeat("cd", 32) }},
		{"ok/rate-limit-disabled", "gateway {\n  rate_limit {\n    requests_per_second = 0\n    burst = 0\n  }\n}\n", func(c *Config) bool { return !c.Gateway.RateLimit.Enabled }},
		{"ok/tls-files", "gateway {\n  tls {\n    cert_file = \"c\"\n    key_file = \"k\"\n    dev = false\n  }\n}\n", func(c *Config) bool { return c.Gateway.TLS.Mode == TLSFiles && c.Gateway.TLS.DevDir == "" }},
		{"ok/tls-empty-block-is-dev", "gateway {\n  tls {}\n}\n", func(c *Config) bool { return c.Gateway.TLS.Mode == TLSDev }},
		{"ok/admin-socket-follows-data-dir", "data_dir = \"/srv/a\"\n", func(c *Config) bool { return c.Admin.Socket == "/srv/a/admin.sock" }},
		{"ok/plugin-order", "plugin \"pqc\" {\n  command = \"p\"\n}\nplugin \"crypto\" {\n  command = \"c\"\n}\n", func(c *Config) bool { return c.Plugins[0].Name == "pqc" && c.Plugins[1].Name == "crypto" }},
		{"ok/heredoc-and-template", "data_dir = \"${\"a\"}b\"\n", func(c *Config) bool { return c.DataDir == "ab" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := parseString(tt.src, nil)
			if diags.HasErrors() {
				t.Fatal(FormatDiagnostics(diags))
			}
			if !tt.check(c) {
				t.Errorf("unexpected result: %+v", c)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"ok/tls-disabled", "gateway {\n  tls {\n    disabled = true\n  }\n}\n", "t.hcl:3:16: warning: Gateway TLS disabled"},
		{"ok/plugin-public", "plugin \"crypto\" {\n  command = \"x\"\n  listen = \":50012\"\n}\n", "t.hcl:3:12: warning: Plugin listener not on loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := parseString(tt.src, nil)
			if c == nil || diags.HasErrors() {
				t.Fatal(FormatDiagnostics(diags))
			}
			if out := FormatDiagnostics(diags); !strings.HasPrefix(out, tt.want) {
				t.Errorf("got %q, want prefix %q", out, tt.want)
			}
		})
	}
}
