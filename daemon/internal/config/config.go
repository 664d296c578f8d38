package config

import (
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Defaults applied when neither the file nor the environment sets a value.
const (
	DefaultDataDir           = "./data"
	DefaultLogLevel          = "info"
	DefaultLogFormat         = "auto"
	DefaultLogFlushInterval  = 100 * time.Millisecond
	MaxLogFlushInterval      = 10 * time.Second
	DefaultGatewayListen     = "127.0.0.1:50010"
	DefaultMaxBodyBytes      = 1 << 20
	DefaultReadTimeout       = 15 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultUpstreamTimeout   = 30 * time.Second
	DefaultRequestsPerSecond = 200
	DefaultBurst             = 400
	DefaultClockMaxAge       = 30 * time.Second
	DefaultClockSource       = ClockLocal
	DefaultRNGReseedInterval = 5 * time.Minute
	DefaultAdminSocketName   = "admin.sock"
	DefaultDevTLSDirName     = "tls"
	MinClockMaxAge           = time.Second
	MinRNGReseedInterval     = time.Second
)

const (
	maxConfigFileBytes        = 8 << 20
	redactedValue             = "(redacted)"
	pluginHashDomainSeparator = "aunsorm/config/plugin-hash/v1"
)

// TLS modes of the gateway.
const (
	TLSDev      = "dev"      // the daemon issues its own CA and certificate into <data_dir>/tls
	TLSFiles    = "files"    // operator-supplied cert_file and key_file
	TLSDisabled = "disabled" // plain HTTP; only when the configuration says so explicitly
)

// Clock sources.
const (
	ClockLocal  = "local"  // the daemon is its own attestation authority
	ClockRemote = "remote" // snapshots are polled from refresh_url and checked against the pinned fingerprint
)

// DefaultPluginListen returns the default loopback listener of a
// first-party plugin name (block label): auth, crypto, x509, kms, acme, pqc,
// metrics. Other names have none and must set listen.
func DefaultPluginListen(name string) (string, bool) {
	l, ok := defaultPluginListen[name]
	return l, ok
}

// defaultPluginListen is read-only.
var defaultPluginListen = map[string]string{
	"auth":    "127.0.0.1:50011",
	"crypto":  "127.0.0.1:50012",
	"x509":    "127.0.0.1:50013",
	"kms":     "127.0.0.1:50014",
	"acme":    "127.0.0.1:50017",
	"pqc":     "127.0.0.1:50018",
	"metrics": "127.0.0.1:50022",
}

// Config is the daemon's effective configuration: file, environment and
// defaults merged and validated.
type Config struct {
	// File is the path (or name) the configuration was loaded from.
	File string
	// Source holds the file's bytes; plugin ranges index into it.
	Source []byte
	// DataDir is where the daemon and plugins keep state. A relative path is
	// used as is, i.e. relative to the daemon's working directory.
	DataDir string
	// Log configures the daemon's own log output.
	Log Log
	// Gateway configures the public HTTP(S) gateway.
	Gateway Gateway
	// Clock configures clock attestation.
	Clock Clock
	// RNG configures the daemon's DRBG.
	RNG RNG
	// Admin configures the admin API listeners.
	Admin Admin
	// Storage selects where the audit log and the plugins' stores live.
	Storage Storage
	// Seal says where the root sealing key ring comes from.
	Seal Seal
	// Plugins lists the plugin blocks in file order.
	Plugins []Plugin
}

// Log configures logging.
type Log struct {
	// Level is one of trace, debug, info, warn, error.
	Level string
	// Format is json, pretty, or auto (pretty on a terminal, JSON otherwise).
	Format string
	// FlushInterval is how late a JSON line below warn may be written:
	// such lines are batched (the access log's one write per request
	// becomes one per batch); warnings and errors are written at once.
	// Zero writes every line at once.
	FlushInterval time.Duration
}

// Gateway configures the HTTP gateway.
type Gateway struct {
	// Listen is the gateway's host:port.
	Listen string
	// TLS selects how the gateway serves TLS.
	TLS TLS
	// MaxBodyBytes limits request bodies; larger requests get 413.
	MaxBodyBytes int64
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for the next request.
	IdleTimeout time.Duration
	// UpstreamTimeout bounds a proxied request to a plugin; past it the client gets 504.
	UpstreamTimeout time.Duration
	// RateLimit is the per-client token bucket.
	RateLimit RateLimit
}

// TLS configures the gateway's TLS.
type TLS struct {
	// Mode is TLSDev, TLSFiles or TLSDisabled.
	Mode string
	// CertFile is the PEM certificate chain (files mode only).
	CertFile string
	// KeyFile is the PEM private key (files mode only).
	KeyFile string
	// DevDir is <data_dir>/tls, where dev mode keeps its CA and certificate
	// (dev mode only; derived, not configurable).
	DevDir string
}

// RateLimit is a per-client token bucket.
type RateLimit struct {
	// RequestsPerSecond is the refill rate; 0 disables rate limiting.
	RequestsPerSecond float64
	// Burst is the bucket size.
	Burst int
	// Enabled is false when RequestsPerSecond is 0 (derived).
	Enabled bool
}

// Clock configures clock attestation.
type Clock struct {
	// MaxAge is how old a snapshot may be before requests fail closed.
	MaxAge time.Duration
	// Source is ClockLocal or ClockRemote.
	Source string
	// RefreshURL is the remote attestor's https:// URL (remote only).
	RefreshURL string
	// AuthorityFingerprint is the lower-case hex SHA-256 of the authority's
	// public key: required for remote, optional for local (pins the daemon's own key).
	AuthorityFingerprint string
	// NTPServers are measured against for the offset estimate (local only, optional).
	NTPServers []string
}

// RNG configures the daemon's DRBG.
type RNG struct {
	// ReseedInterval is how often the DRBG reseeds from the OS.
	ReseedInterval time.Duration
}

// Admin configures the admin API.
type Admin struct {
	// Socket is the unix socket path (default <data_dir>/admin.sock).
	Socket string
	// Listen is an optional TCP host:port; it requires TokenFile.
	Listen string
	// TokenFile holds the bearer token for the TCP listener. Load checks
	// it with ReadAdminToken and drops the token; serve reads it again.
	TokenFile string
}

// Plugin is one `plugin "<name>" { ... }` block.
type Plugin struct {
	// Name is the block label: [a-z][a-z0-9-]*, unique.
	Name string
	// Command is the plugin binary. Parse keeps it as written; Load checks it
	// is an executable file and makes it absolute (relative paths are resolved
	// against the daemon's working directory).
	Command string
	// Args are extra command-line arguments.
	Args []string
	// SHA256 is the optional lower-case hex pin of the binary's digest.
	SHA256 string
	// Listen is the host:port the daemon opens for the plugin.
	Listen string
	// Env is the plugin's extra environment; plugins do not inherit the daemon's.
	Env map[string]string
	// ConfigBody is the raw text between the braces of the plugin's
	// `config { ... }` block, empty when there is none. It is not decoded here.
	ConfigBody []byte
	// ConfigRange locates ConfigBody in the file. Pass ConfigRange.Start to
	// hclsyntax.ParseConfig so diagnostics point into the operator's file.
	ConfigRange hcl.Range
	// Hash is a hex SHA-256 over the block's effective settings (command,
	// args, sha256, listen, env, config body). Equal hashes mean a reload can
	// leave the running plugin alone.
	Hash string
	// Supervision tunes crash and hang handling; zero values take the
	// supervisor's documented defaults.
	Supervision Supervision
	// Sandbox confines the plugin process to the files it needs.
	Sandbox Sandbox
	// User and Group are the block's `user` and `group` as written (a name
	// or a numeric id), empty when unset.
	User, Group string
	// RunAs is User and Group resolved, nil when neither is set: the
	// plugin then runs as the daemon's user and group.
	RunAs *RunAs
	// DeclRange is the range of the block header `plugin "<name>"`.
	DeclRange hcl.Range
}

// Environ returns Env as sorted KEY=value entries, the plugin process's
// whole environment.
func (p Plugin) Environ() []string {
	env := make([]string, 0, len(p.Env))
	for k, v := range p.Env {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

// Sandbox modes of a plugin block's `sandbox` attribute.
const (
	SandboxAuto     = "auto"     // confine when the kernel can (Landlock), warn when it cannot
	SandboxRequired = "required" // refuse to start the plugin unconfined
	SandboxOff      = "off"      // no confinement
)

// Sandbox is a plugin's confinement: its mode and the paths the operator
// adds to the default policy (pluginhost.SandboxPolicy).
type Sandbox struct {
	Mode    string
	Read    []string // absolute paths the plugin may read
	Write   []string // absolute paths the plugin may read and write
	Connect []uint16 // TCP ports the plugin may connect to
}

// RunAs is the user and group a plugin process runs as. It has no
// supplementary groups.
type RunAs struct {
	UID, GID uint32
}

// Supervision tunes how the daemon watches one plugin.
type Supervision struct {
	// HealthInterval is the time between health pings (default 1s).
	HealthInterval time.Duration
	// HealthTimeout is the deadline of one ping (default 1s).
	HealthTimeout time.Duration
	// HealthFailures is how many failed pings in a row make the daemon kill
	// and relaunch the plugin (default 3).
	HealthFailures int
	// MaxCrashes is how many crashes within CrashWindow mark the plugin
	// failed instead of relaunching it again (default 5).
	MaxCrashes int
	// CrashWindow is the window MaxCrashes counts over (default 60s).
	CrashWindow time.Duration
	// BackoffMax caps the delay between relaunch attempts (default 10s).
	BackoffMax time.Duration
	// DrainTimeout bounds the drain of a stopped or replaced plugin (default 10s).
	DrainTimeout time.Duration
}

// FindPlugin returns the plugin block with the given name, or nil.
func (c *Config) FindPlugin(name string) *Plugin {
	for i := range c.Plugins {
		if c.Plugins[i].Name == name {
			return &c.Plugins[i]
		}
	}
	return nil
}

// Load reads the file at path and decodes it like [Parse], then checks what
// needs the filesystem: plugin binaries exist and are executable (Command is
// made absolute), TLS certificate and key files and the admin token file
// exist. Plugin hashes are computed over the absolute Command. getenv may
// be nil (no environment overrides); the daemon passes os.Getenv.
func Load(path string, getenv func(string) string) (*Config, hcl.Diagnostics) {
	src, diags := readFile(path)
	if diags.HasErrors() {
		return nil, diags
	}
	p := newParser(src, path, getenv)
	if parsed, _ := p.run(); !parsed {
		return nil, p.diags
	}
	p.checkFiles()
	if p.diags.HasErrors() {
		return nil, p.diags
	}
	p.finish()
	return p.cfg, p.diags
}

// Parse decodes src (named filename in diagnostics), applies environment
// overrides from getenv (nil means none), fills in defaults and validates
// everything that does not need the filesystem. It returns the configuration
// and any warnings, or nil and the diagnostics when there is an error.
func Parse(src []byte, filename string, getenv func(string) string) (*Config, hcl.Diagnostics) {
	p := newParser(src, filename, getenv)
	if _, ok := p.run(); !ok {
		return nil, p.diags
	}
	p.finish()
	return p.cfg, p.diags
}

func readFile(path string) ([]byte, hcl.Diagnostics) {
	fileRange := &hcl.Range{Filename: path}
	f, err := os.Open(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read configuration file",
			Detail:   err.Error(),
			Subject:  fileRange,
		}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFileBytes+1))
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read configuration file",
			Detail:   err.Error(),
			Subject:  fileRange,
		}}
	}
	if len(data) > maxConfigFileBytes {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Configuration file too large",
			Detail:   fmt.Sprintf("The file is larger than %d bytes.", maxConfigFileBytes),
			Subject:  fileRange,
		}}
	}
	return data, nil
}

// newParser sets up a parser with the defaults filled in.
func newParser(src []byte, filename string, getenv func(string) string) *parser {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return &parser{
		filename: filename,
		src:      src,
		getenv:   getenv,
		from:     map[string]source{},
		cfg: &Config{
			File:    filename,
			Source:  src,
			DataDir: DefaultDataDir,
			Log:     Log{Level: DefaultLogLevel, Format: DefaultLogFormat, FlushInterval: DefaultLogFlushInterval},
			Gateway: Gateway{
				Listen:          DefaultGatewayListen,
				TLS:             TLS{Mode: TLSDev},
				MaxBodyBytes:    DefaultMaxBodyBytes,
				ReadTimeout:     DefaultReadTimeout,
				WriteTimeout:    DefaultWriteTimeout,
				IdleTimeout:     DefaultIdleTimeout,
				UpstreamTimeout: DefaultUpstreamTimeout,
				RateLimit: RateLimit{
					RequestsPerSecond: DefaultRequestsPerSecond,
					Burst:             DefaultBurst,
				},
			},
			Clock:   Clock{MaxAge: DefaultClockMaxAge, Source: DefaultClockSource},
			RNG:     RNG{ReseedInterval: DefaultRNGReseedInterval},
			Storage: Storage{Driver: StorageSQLite},
		},
	}
}

// run parses, decodes, applies the environment and validates. Only a syntax
// error stops it early: decode errors leave the value at its default, so
// validation can still report problems elsewhere in the same pass. It
// reports whether the file parsed and whether the result is error-free.
func (p *parser) run() (parsed, ok bool) {
	file, diags := hclsyntax.ParseConfig(p.src, p.filename, hcl.InitialPos)
	p.diags = append(p.diags, diags...)
	if diags.HasErrors() {
		return false, false
	}
	body, isSyntax := file.Body.(*hclsyntax.Body)
	if !isSyntax {
		return false, false
	}
	p.decodeRoot(body)
	p.applyEnv()
	p.validate()
	return true, !p.diags.HasErrors()
}

// finish computes derived values of a valid configuration.
func (p *parser) finish() {
	for i := range p.cfg.Plugins {
		p.cfg.Plugins[i].Hash = pluginHash(&p.cfg.Plugins[i])
	}
}
