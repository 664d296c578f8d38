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
	EnvDataDir                = "AUNSORM_DATA_DIR"
	EnvLogLevel               = "AUNSORM_LOG_LEVEL"
	EnvLogFormat              = "AUNSORM_LOG_FORMAT"
	EnvLogFlushInterval       = "AUNSORM_LOG_FLUSH_INTERVAL"
	EnvGatewayListen          = "AUNSORM_GATEWAY_LISTEN"
	EnvGatewayTLS             = "AUNSORM_GATEWAY_TLS"
	EnvGatewayTLSCertFile     = "AUNSORM_GATEWAY_TLS_CERT_FILE"
	EnvGatewayTLSKeyFile      = "AUNSORM_GATEWAY_TLS_KEY_FILE"
	EnvClockMaxAgeSecs        = "AUNSORM_CLOCK_MAX_AGE_SECS"
	EnvClockSource            = "AUNSORM_CLOCK_SOURCE"
	EnvClockRefreshURL        = "AUNSORM_CLOCK_REFRESH_URL"
	EnvCalibrationFingerprint = "AUNSORM_CALIBRATION_FINGERPRINT"
	EnvRNGReseedInterval      = "AUNSORM_RNG_RESEED_INTERVAL"
	EnvAdminSocket            = "AUNSORM_ADMIN_SOCKET"
	EnvAdminListen            = "AUNSORM_ADMIN_LISTEN"
	EnvAdminTokenFile         = "AUNSORM_ADMIN_TOKEN_FILE"
	// EnvStrict is not read by the daemon: it is forwarded into every
	// plugin's environment (plugins inherit nothing else), where plugins
	// with a strict mode (pqc) honour it. A block's own env entry wins.
	EnvStrict = "AUNSORM_STRICT"
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
	p.envSeconds(EnvClockMaxAgeSecs, "clock.max_age", &c.Clock.MaxAge)
	p.envString(EnvClockSource, "clock.source", &c.Clock.Source)
	p.envString(EnvClockRefreshURL, "clock.refresh_url", &c.Clock.RefreshURL)
	p.envString(EnvCalibrationFingerprint, "clock.authority_fingerprint", &c.Clock.AuthorityFingerprint)
	p.envDuration(EnvRNGReseedInterval, "rng.reseed_interval", &c.RNG.ReseedInterval)
	p.envString(EnvAdminSocket, "admin.socket", &c.Admin.Socket)
	p.envString(EnvAdminListen, "admin.listen", &c.Admin.Listen)
	p.envString(EnvAdminTokenFile, "admin.token_file", &c.Admin.TokenFile)
	p.envSeal()
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

func (p *parser) envSeconds(name, key string, dst *time.Duration) {
	v := p.lookup(name)
	if v == "" {
		return
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/int64(time.Second) {
		p.envErr(name, fmt.Sprintf("%q is not a whole, non-negative number of seconds.", truncate(v)))
		return
	}
	*dst = time.Duration(n) * time.Second
	p.from[key] = source{env: name}
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
