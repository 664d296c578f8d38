package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Environment variables that override the file. Values are trimmed of
// surrounding white space; an empty value counts as unset.
const (
	EnvDataDir                   = "AUNSORM_DATA_DIR"
	EnvLogLevel                  = "AUNSORM_LOG_LEVEL"
	EnvLogFormat                 = "AUNSORM_LOG_FORMAT"
	EnvLogFlushInterval          = "AUNSORM_LOG_FLUSH_INTERVAL"
	EnvGatewayListen             = "AUNSORM_GATEWAY_LISTEN"
	EnvGatewayTLS                = "AUNSORM_GATEWAY_TLS"
	EnvGatewayTLSCertFile        = "AUNSORM_GATEWAY_TLS_CERT_FILE"
	EnvGatewayTLSKeyFile         = "AUNSORM_GATEWAY_TLS_KEY_FILE"
	EnvClockMaxAge               = "AUNSORM_CLOCK_MAX_AGE"
	EnvClockSource               = "AUNSORM_CLOCK_SOURCE"
	EnvClockRefreshURL           = "AUNSORM_CLOCK_REFRESH_URL"
	EnvClockAuthorityFingerprint = "AUNSORM_CLOCK_AUTHORITY_FINGERPRINT"
	EnvRNGReseedInterval         = "AUNSORM_RNG_RESEED_INTERVAL"
	EnvAdminSocket               = "AUNSORM_ADMIN_SOCKET"
	EnvAdminListen               = "AUNSORM_ADMIN_LISTEN"
	EnvAdminTokenFile            = "AUNSORM_ADMIN_TOKEN_FILE"
	// EnvStrict is not read by the daemon: it is forwarded into every
	// plugin's environment (plugins inherit nothing else), where plugins
	// with a strict mode (pqc) honour it. A block's own env entry wins.
	EnvStrict = "AUNSORM_STRICT"
)

// Older names kept as documented aliases. Each sets what its new name sets;
// setting both to different values is an error.
const (
	// EnvClockMaxAgeSecs is the alias of EnvClockMaxAge in whole seconds.
	EnvClockMaxAgeSecs = "AUNSORM_CLOCK_MAX_AGE_SECS"
	// EnvCalibrationFingerprint is the alias of EnvClockAuthorityFingerprint.
	EnvCalibrationFingerprint = "AUNSORM_CALIBRATION_FINGERPRINT"
)

// PluginListenEnv returns the variable that overrides a plugin's listen
// address: AUNSORM_PLUGIN_<NAME>_LISTEN with the name upper-cased and '-'
// replaced by '_' (plugin "my-hsm" → AUNSORM_PLUGIN_MY_HSM_LISTEN).
func PluginListenEnv(name string) string {
	return "AUNSORM_PLUGIN_" + strings.ReplaceAll(strings.ToUpper(name), "-", "_") + "_LISTEN"
}

// EnvVarExtra is implemented by the Extra field of a diagnostic about a
// value that came from an environment variable rather than from the file;
// such diagnostics have no Subject.
type EnvVarExtra interface {
	// EnvVar names the environment variable.
	EnvVar() string
}

type envExtra string

// EnvVar implements EnvVarExtra.
func (e envExtra) EnvVar() string { return string(e) }

var _ EnvVarExtra = envExtra("")

// applyEnv overlays the AUNSORM_* variables on the decoded file.
func (p *parser) applyEnv() {
	c := p.cfg
	p.envString(EnvDataDir, "data_dir", &c.DataDir)
	p.envString(EnvLogLevel, "log.level", &c.Log.Level)
	p.envString(EnvLogFormat, "log.format", &c.Log.Format)
	p.envDuration(EnvLogFlushInterval, "log.flush_interval", &c.Log.FlushInterval)
	p.envString(EnvGatewayListen, "gateway.listen", &c.Gateway.Listen)
	p.envTLS()
	p.envClockMaxAge()
	p.envString(EnvClockSource, "clock.source", &c.Clock.Source)
	p.envString(EnvClockRefreshURL, "clock.refresh_url", &c.Clock.RefreshURL)
	p.envAliasConflict(EnvClockAuthorityFingerprint, EnvCalibrationFingerprint, strings.EqualFold)
	if !p.envString(EnvClockAuthorityFingerprint, "clock.authority_fingerprint", &c.Clock.AuthorityFingerprint) {
		p.envString(EnvCalibrationFingerprint, "clock.authority_fingerprint", &c.Clock.AuthorityFingerprint)
	}
	p.envDuration(EnvRNGReseedInterval, "rng.reseed_interval", &c.RNG.ReseedInterval)
	p.envString(EnvAdminSocket, "admin.socket", &c.Admin.Socket)
	p.envString(EnvAdminListen, "admin.listen", &c.Admin.Listen)
	p.envString(EnvAdminTokenFile, "admin.token_file", &c.Admin.TokenFile)
	strict := p.lookup(EnvStrict)
	for i := range c.Plugins {
		if validPluginName(c.Plugins[i].Name) {
			p.envString(PluginListenEnv(c.Plugins[i].Name), fmt.Sprintf("plugin.%d.listen", i), &c.Plugins[i].Listen)
		}
		if strict != "" {
			if c.Plugins[i].Env == nil {
				c.Plugins[i].Env = map[string]string{}
			}
			if _, set := c.Plugins[i].Env[EnvStrict]; !set {
				c.Plugins[i].Env[EnvStrict] = strict
			}
		}
	}
}

func (p *parser) lookup(name string) string {
	return strings.TrimSpace(p.getenv(name))
}

func (p *parser) envErr(name, detail string) {
	p.diags = append(p.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + name,
		Detail:   detail,
		Extra:    envExtra(name),
	})
}

func (p *parser) envString(name, key string, dst *string) bool {
	v := p.lookup(name)
	if v == "" {
		return false
	}
	*dst = v
	p.from[key] = source{env: name}
	return true
}

// envClockMaxAge applies AUNSORM_CLOCK_MAX_AGE (a duration, as in HCL) or
// its alias AUNSORM_CLOCK_MAX_AGE_SECS (whole seconds).
func (p *parser) envClockMaxAge() {
	const key = "clock.max_age"
	dst := &p.cfg.Clock.MaxAge
	sameAge := func(d, secs string) bool {
		a, problem := parseDuration(d)
		b, ok := parseSeconds(secs)
		return problem == "" && ok && a == b
	}
	p.envAliasConflict(EnvClockMaxAge, EnvClockMaxAgeSecs, sameAge)
	if p.lookup(EnvClockMaxAge) != "" {
		p.envDuration(EnvClockMaxAge, key, dst)
		return
	}
	v := p.lookup(EnvClockMaxAgeSecs)
	if v == "" {
		return
	}
	d, ok := parseSeconds(v)
	if !ok {
		p.envErr(EnvClockMaxAgeSecs, fmt.Sprintf("%q is not a whole, non-negative number of seconds (%s takes a duration such as \"30s\").", truncate(v), EnvClockMaxAge))
		return
	}
	*dst = d
	p.from[key] = source{env: EnvClockMaxAgeSecs}
}

// parseSeconds parses a whole, non-negative number of seconds.
func parseSeconds(v string) (time.Duration, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/int64(time.Second) {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// envAliasConflict reports an error when a variable and its older alias
// are both set to values that differ (same compares them), and reports
// whether it did.
func (p *parser) envAliasConflict(name, alias string, same func(v, aliasV string) bool) bool {
	v, av := p.lookup(name), p.lookup(alias)
	if v == "" || av == "" || same(v, av) {
		return false
	}
	p.envErr(alias, fmt.Sprintf("%s is the older name of %s; both are set, to different values. Unset %s.", alias, name, alias))
	return true
}

func (p *parser) envDuration(name, key string, dst *time.Duration) {
	v := p.lookup(name)
	if v == "" {
		return
	}
	d, problem := parseDuration(v)
	if problem != "" {
		p.envErr(name, problem+".")
		return
	}
	*dst = d
	p.from[key] = source{env: name}
}

// envTLS applies AUNSORM_GATEWAY_TLS{,_CERT_FILE,_KEY_FILE}. Setting a
// certificate or key file selects files mode.
func (p *parser) envTLS() {
	t := &p.cfg.Gateway.TLS
	files := false
	if p.envString(EnvGatewayTLSKeyFile, "gateway.tls.key_file", &t.KeyFile) {
		files = true
		p.from["gateway.tls.mode"] = source{env: EnvGatewayTLSKeyFile}
	}
	if p.envString(EnvGatewayTLSCertFile, "gateway.tls.cert_file", &t.CertFile) {
		files = true
		p.from["gateway.tls.mode"] = source{env: EnvGatewayTLSCertFile}
	}
	if files {
		t.Mode = TLSFiles
	}
	mode := p.lookup(EnvGatewayTLS)
	switch mode {
	case "":
		return
	case TLSDev, TLSDisabled:
		if files {
			p.envErr(EnvGatewayTLS, fmt.Sprintf("%q conflicts with %s / %s, which select files mode.",
				mode, EnvGatewayTLSCertFile, EnvGatewayTLSKeyFile))
			return
		}
		t.Mode, t.CertFile, t.KeyFile = mode, "", ""
		delete(p.from, "gateway.tls.cert_file")
		delete(p.from, "gateway.tls.key_file")
	case TLSFiles:
		t.Mode = TLSFiles
	default:
		p.envErr(EnvGatewayTLS, fmt.Sprintf("%q is not one of dev, files, disabled.", truncate(mode)))
		return
	}
	p.from["gateway.tls.mode"] = source{env: EnvGatewayTLS}
}
