package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/internal/protocol"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
	"github.com/aunsorm/aunsorm/sdk/sandbox"
)

// LaunchConfig says how to start one plugin process (host side).
type LaunchConfig struct {
	// Name is the instance name from the operator's HCL, used in logs and errors.
	Name string
	// Command is the plugin binary; Args its arguments.
	Command string
	Args    []string
	// Env is the plugin's whole environment besides what the SDK sets: a
	// plugin does not inherit the daemon's environment.
	Env []string
	// SHA256, when set, pins the binary's digest (hex); a mismatch refuses
	// the launch.
	SHA256 string
	// Listener is the listening socket handed to the plugin as fd 3.
	Listener *os.File
	// LocalListener, optional, is a second listening socket (the unix
	// socket the gateway proxies over) handed over as fd 5.
	LocalListener *os.File
	// Host serves the host services to this plugin, bound to its identity.
	Host pluginv1.HostServer
	// Logger receives the plugin's stderr lines and go-plugin's own messages.
	Logger zerolog.Logger
	// StartTimeout bounds process start and handshake (default 10s).
	StartTimeout time.Duration
	// Digests, optional, caches binary digests across launches.
	Digests *DigestCache
	// Sandbox, when set, confines the process to these paths (Landlock,
	// see sdk/sandbox); go-plugin's socket directory is added. Build it
	// with SandboxPolicy.
	Sandbox *sandbox.Policy
	// SandboxRequired refuses the launch when the kernel cannot confine
	// the process; otherwise it runs unconfined, with a warning.
	SandboxRequired bool
	// Credential, optional, is the user and group the plugin runs as (the
	// daemon must be root to switch). Whether or not it is set, and
	// whether or not Sandbox is, the plugin starts with no capabilities,
	// no_new_privs and the seccomp filter (see sdk/sandbox).
	Credential *sandbox.Credential
}

// Client is a running plugin process seen from the host.
type Client struct {
	name     string
	cmd      *exec.Cmd
	gp       *goplugin.Client
	rpc      pluginv1.PluginClient
	brokerID uint32
	parentW  *os.File
	digest   string
	desc     plugin.Descriptor
	confine  *confinement
	killed   *atomic.Bool // set before the host kills the process
}

// FileDigest returns the hex SHA-256 of the file at path.
func FileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Launch verifies the binary, starts it, completes the handshake and reads
// its descriptor. The plugin is not configured yet: call Configure.
func Launch(ctx context.Context, cfg LaunchConfig) (*Client, error) {
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	path, err := exec.LookPath(cfg.Command)
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %q: command %q: %v", ErrLaunch, cfg.Name, cfg.Command, err)
	}
	digest, err := cfg.Digests.Digest(path)
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %q: read %s: %v", ErrLaunch, cfg.Name, path, err)
	}
	pin := strings.ToLower(cfg.SHA256)
	if pin != "" && digest != pin {
		return nil, fmt.Errorf("%w: plugin %q: %s: expected sha256 %s, actual %s", ErrDigestMismatch, cfg.Name, path, pin, digest)
	}

	// The read end of this pipe is the plugin's lifeline: when the daemon
	// dies the kernel closes the write end and the plugin exits.
	parentR, parentW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %q: pipe: %v", ErrLaunch, cfg.Name, err)
	}
	defer parentR.Close()

	cmd := exec.Command(path, cfg.Args...)
	cmd.Env = append([]string{protocol.EnvListenerFD + "=3", protocol.EnvParentFD + "=4"}, cfg.Env...)
	cmd.ExtraFiles = []*os.File{cfg.Listener, parentR}
	if cfg.LocalListener != nil {
		cmd.Env = append(cmd.Env, protocol.EnvLocalFD+"=5", protocol.EnvDaemonPID+"="+strconv.Itoa(os.Getpid()))
		cmd.ExtraFiles = append(cmd.ExtraFiles, cfg.LocalListener)
	}
	cmd.SysProcAttr = sysProcAttr()

	log := cfg.Logger.With().Str("plugin", cfg.Name).Logger()
	confine := &confinement{required: cfg.SandboxRequired, credential: cfg.Credential, log: log}
	if cfg.Sandbox != nil {
		sp := *cfg.Sandbox
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("%w: plugin %q: %v", ErrLaunch, cfg.Name, err)
		}
		sp.Read = append(slices.Clip(sp.Read), abs) // the binary itself
		confine.policy = &sp
	}
	var sockets *goplugin.UnixSocketConfig
	if cfg.Credential != nil {
		// The plugin creates its sockets in go-plugin's directory and
		// connects to the host's there: both are its group's.
		sockets = &goplugin.UnixSocketConfig{Group: strconv.FormatUint(uint64(cfg.Credential.GID), 10)}
	}
	killed := new(atomic.Bool)
	stderr := newLogWriter(log, "stderr")
	stdout := newLogWriter(log, "stdout")
	gp := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{protocol.Version: {protocol.DispenseName: &grpcPlugin{host: cfg.Host}}},
		RunnerFunc:       runnerFunc(cmd, pin, cfg.Digests, stdout, confine, killed),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		UnixSocketConfig: sockets,
		SkipHostEnv:      true,
		StartTimeout:     cfg.StartTimeout,
		Logger:           hclogBridge(log),
		Stderr:           stderr,
		SyncStdout:       stdout,
		SyncStderr:       stderr,
	})
	c := &Client{name: cfg.Name, cmd: cmd, gp: gp, parentW: parentW, digest: digest, confine: confine, killed: killed}
	fail := func(err error) (*Client, error) {
		gp.Kill()
		parentW.Close()
		return nil, err
	}
	rpcClient, err := gp.Client()
	if err != nil {
		if errors.Is(err, ErrDigestMismatch) {
			return fail(fmt.Errorf("plugin %q: %w", cfg.Name, err))
		}
		if strings.Contains(err.Error(), "incompatible API version") {
			return fail(fmt.Errorf("%w: plugin %q speaks another protocol version than %d (%v)", plugin.ErrProtocol, cfg.Name, protocol.Version, err))
		}
		return fail(fmt.Errorf("%w: plugin %q: %v", ErrLaunch, cfg.Name, err))
	}
	if v := gp.NegotiatedVersion(); v != protocol.Version {
		return fail(fmt.Errorf("%w: plugin %q speaks protocol %d, want %d", plugin.ErrProtocol, cfg.Name, v, protocol.Version))
	}
	raw, err := rpcClient.Dispense(protocol.DispenseName)
	if err != nil {
		return fail(fmt.Errorf("%w: plugin %q: dispense: %v", plugin.ErrProtocol, cfg.Name, err))
	}
	dc := raw.(*dispensedClient)
	c.rpc, c.brokerID = dc.rpc, dc.brokerID
	dctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	d, err := c.rpc.Describe(dctx, &pluginv1.DescribeRequest{})
	if err != nil {
		return fail(fmt.Errorf("%w: plugin %q: describe: %v", plugin.ErrProtocol, cfg.Name, protocol.FromStatus(err)))
	}
	c.desc = plugin.Descriptor{Name: d.Name, Kind: d.Kind, Version: d.Version, Routes: d.Routes, Capabilities: d.Capabilities, HostServices: d.HostServices}
	if err := validateDescriptor(c.desc); err != nil {
		return fail(fmt.Errorf("%w: plugin %q: %v", plugin.ErrProtocol, cfg.Name, err))
	}
	return c, nil
}

func validateDescriptor(d plugin.Descriptor) error {
	if d.Name == "" || d.Kind == "" || d.Version == "" {
		return errors.New("descriptor needs name, kind and version")
	}
	for _, r := range d.Routes {
		if !strings.HasPrefix(r, "/") || !strings.HasSuffix(r, "/") || strings.Contains(r, "//") {
			return fmt.Errorf("route %q must start and end with '/'", r)
		}
	}
	return nil
}

// ConfigureRequest is what the host sends on Configure; see pluginv1.ConfigureRequest.
type ConfigureRequest = pluginv1.ConfigureRequest

// Configure sends the configuration; the host broker id is filled in. A
// rejected configuration returns an error wrapping ErrConfig, with the
// plugin's diagnostics in a *ConfigError.
func (c *Client) Configure(ctx context.Context, req *ConfigureRequest) error {
	req.HostBrokerId = c.brokerID
	resp, err := c.rpc.Configure(ctx, req)
	if err != nil {
		return fmt.Errorf("plugin %q: configure: %w", c.name, protocol.FromStatus(err))
	}
	if diags := fromProtoDiagnostics(resp.Diagnostics); diags.HasErrors() {
		return fmt.Errorf("%w: plugin %q: %w", plugin.ErrConfig, c.name, &plugin.ConfigError{Diagnostics: diags})
	}
	return nil
}

// Health asks the plugin for its health.
func (c *Client) Health(ctx context.Context) (*pluginv1.HealthResponse, error) {
	resp, err := c.rpc.Health(ctx, &pluginv1.HealthRequest{})
	if err != nil {
		return nil, protocol.FromStatus(err)
	}
	return resp, nil
}

// Drain asks the plugin to stop accepting new connections while it keeps
// serving the open ones (the first step of a hot swap).
func (c *Client) Drain(ctx context.Context) error {
	_, err := c.rpc.Drain(ctx, &pluginv1.DrainRequest{})
	return protocol.FromStatus(err)
}

// Stop asks the plugin to stop accepting and drain for up to drain, then
// ends the process.
func (c *Client) Stop(ctx context.Context, drain time.Duration) error {
	sctx, cancel := context.WithTimeout(ctx, drain+2*time.Second)
	defer cancel()
	_, err := c.rpc.Stop(sctx, &pluginv1.StopRequest{DrainTimeoutMs: drain.Milliseconds()})
	if err == nil {
		// The plugin exits by itself once it has replied.
		for end := time.Now().Add(time.Second); !c.gp.Exited() && time.Now().Before(end); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	c.Kill()
	return protocol.FromStatus(err)
}

// Kill ends the plugin process now (SIGKILL: a hung or stopped process
// cannot delay it), then releases go-plugin's resources.
func (c *Client) Kill() {
	c.killed.Store(true)
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
	}
	c.gp.Kill()
	c.parentW.Close()
}

// Exited reports whether the process has exited. go-plugin has no exit
// callback; supervisors poll this.
func (c *Client) Exited() bool { return c.gp.Exited() }

// Descriptor returns what the plugin said about itself.
func (c *Client) Descriptor() plugin.Descriptor { return c.desc }

// Digest returns the hex SHA-256 of the binary that was launched.
func (c *Client) Digest() string { return c.digest }

// Sandbox describes the process's confinement: "landlock ABI n", "off"
// (none was asked for) or "unavailable" (asked for, the kernel lacks it).
func (c *Client) Sandbox() string { return c.confine.state }

// Confinement is what applies to the process (capabilities, seccomp,
// Landlock, user), or nil before it started.
func (c *Client) Confinement() *sandbox.Confinement { return c.confine.applied }

// PID returns the plugin's process id, or 0.
func (c *Client) PID() int {
	if c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// hclogBridge returns an hclog logger that parses nothing (level Off, so
// go-plugin skips its fragile stderr parser) and forwards go-plugin's own
// messages into zerolog through an intercept sink.
func hclogBridge(log zerolog.Logger) hclog.Logger {
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{Level: hclog.Off, Output: io.Discard})
	l.RegisterSink(&hclogSink{log: log})
	return l
}

type hclogSink struct{ log zerolog.Logger }

// Accept implements hclog.SinkAdapter; it sees every level, so it filters.
func (s *hclogSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	var ev *zerolog.Event
	switch {
	case level >= hclog.Error:
		ev = s.log.Error()
	case level == hclog.Warn:
		ev = s.log.Warn()
	case level == hclog.Info:
		ev = s.log.Debug() // go-plugin's info lines are chatty lifecycle noise
	default:
		return
	}
	ev = ev.Str("source", "go-plugin")
	for i := 0; i+1 < len(args); i += 2 {
		ev = ev.Interface(fmt.Sprint(args[i]), args[i+1])
	}
	ev.Msg(msg)
}
