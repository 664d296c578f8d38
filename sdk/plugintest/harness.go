package plugintest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/pluginhost"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
	"github.com/aunsorm/aunsorm/sdk/rng"
)

// Defaults for Options.
const (
	// DefaultClockMaxAge is the maximum snapshot age the plugin is told.
	DefaultClockMaxAge = 30 * time.Second
	// DefaultStartTimeout bounds launch, Configure and the wait for health.
	DefaultStartTimeout = 15 * time.Second
	// DefaultDrain is the drain time Close and the test cleanup give Stop.
	DefaultDrain = 5 * time.Second
	// ConfigFilename is the file name configuration diagnostics point into;
	// Options.Config starts at its line 1, column 1.
	ConfigFilename = "plugintest.hcl"
)

// Options say which plugin binary to run and how.
type Options struct {
	// Binary is the plugin executable. Required.
	Binary string
	// Config is the HCL body of the plugin's `config { ... }` block, the
	// text between the braces (may be empty).
	Config string
	// Name is the instance name, the label of the operator's plugin block;
	// default: the kind the plugin describes.
	Name string
	// DataDir is the plugin's state directory; default: t.TempDir() under
	// Start, a temporary directory removed by Close under New.
	DataDir string
	// ClockMaxAge is the maximum snapshot age the plugin enforces (default
	// DefaultClockMaxAge). The test authority signs every ClockMaxAge/4.
	ClockMaxAge time.Duration
	// Env is the plugin's whole environment (KEY=value); a plugin does not
	// inherit the test's environment, as under the daemon.
	Env []string
	// SHA256 pins the binary's digest (hex), as the plugin block's sha256.
	SHA256 string
	// LogLevel is the plugin's log level (zerolog name); default "info".
	LogLevel string
	// Log receives the plugin's stderr and go-plugin's messages as JSON
	// lines; default: t.Log under Start, discarded under New.
	Log io.Writer
	// StartTimeout bounds launch, Configure and the wait until healthy
	// (default DefaultStartTimeout).
	StartTimeout time.Duration
	// Sandbox runs the plugin confined as the daemon runs it by default
	// (pluginhost.SandboxPolicy: its data directory and the system's files,
	// nothing else), so a test finds what the plugin would be refused.
	// The launch fails on a kernel without Landlock (sandbox.ABI).
	Sandbox bool
}

// Harness is one running plugin under the test host.
type Harness struct {
	// URL is the plugin's own listener, http://127.0.0.1:port, as the
	// gateway reaches it (no TLS, no gateway middleware).
	URL string
	// Descriptor is what the plugin said about itself.
	Descriptor plugin.Descriptor
	// DataDir is the plugin's state directory.
	DataDir string

	client  *pluginhost.Client
	host    *testHost
	clock   *authority
	native  *rng.Reader
	cleanup func()

	mu      sync.Mutex
	stopped bool
	stopErr error
	closed  bool
}

// Start launches, configures and waits for a healthy plugin, failing the
// test when any step fails, and stops it (with DefaultDrain) when the test
// ends.
func Start(t testing.TB, opts Options) *Harness {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	var lw *testLogWriter
	if opts.Log == nil {
		lw = &testLogWriter{t: t}
		opts.Log = lw
	}
	h, err := New(t.Context(), opts)
	if err != nil {
		lw.close()
		t.Fatalf("plugintest: start %s: %v", opts.Binary, err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("plugintest: stop %s: %v", opts.Binary, err)
		}
		lw.close()
	})
	return h
}

// New is Start without a testing.TB: the caller must Close the harness.
// ctx bounds the start only.
func New(ctx context.Context, opts Options) (_ *Harness, err error) {
	if opts.Binary == "" {
		return nil, fmt.Errorf("%w: Binary is required", ErrOptions)
	}
	if opts.ClockMaxAge < 0 || opts.StartTimeout < 0 {
		return nil, fmt.Errorf("%w: negative duration", ErrOptions)
	}
	if opts.ClockMaxAge == 0 {
		opts.ClockMaxAge = DefaultClockMaxAge
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	h := &Harness{cleanup: func() {}}
	defer func() {
		if err != nil {
			h.release()
		}
	}()
	if opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "plugintest-*")
		if err != nil {
			return nil, fmt.Errorf("plugintest: data dir: %w", err)
		}
		h.cleanup = func() { os.RemoveAll(dir) }
		opts.DataDir = dir
	}
	if h.DataDir, err = filepath.Abs(opts.DataDir); err != nil {
		return nil, fmt.Errorf("plugintest: data dir: %w", err)
	}
	opts.DataDir = h.DataDir
	if opts.Sandbox { // a confined plugin cannot create it
		if err := os.MkdirAll(h.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("plugintest: data dir: %w", err)
		}
	}

	// The host side as in the daemon: AunsormNativeRng for seeds and the
	// authority key, drawn as a seed (Go key generators ignore custom readers).
	if h.native, err = rng.NewNative(ctx, rng.NativeConfig{}); err != nil {
		return nil, fmt.Errorf("plugintest: rng: %w", err)
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(h.native, seed); err != nil {
		return nil, fmt.Errorf("plugintest: rng: %w", err)
	}
	key := ed25519.NewKeyFromSeed(seed)
	clear(seed)
	if h.clock, err = newAuthority(key, opts.ClockMaxAge); err != nil {
		return nil, fmt.Errorf("plugintest: clock authority: %w", err)
	}
	h.host = &testHost{rand: h.native, clock: h.clock, audit: &auditLog{}}

	log := zerolog.New(opts.Log).With().Timestamp().Logger()
	if h.client, h.URL, err = launch(ctx, opts, h.host, log); err != nil {
		return nil, err
	}
	h.Descriptor = h.client.Descriptor()
	if opts.Name == "" {
		opts.Name = h.Descriptor.Kind
	}
	h.host.declared.Store(&h.Descriptor.HostServices)
	h.host.topology.Store(&pluginv1.PluginInfo{Name: opts.Name, Kind: h.Descriptor.Kind, Version: h.Descriptor.Version,
		Listen: h.URL[len("http://"):], Status: "running", Routes: h.Descriptor.Routes,
		Sha256: h.client.Digest(), Pid: int64(h.client.PID())})

	err = h.client.Configure(ctx, &pluginhost.ConfigureRequest{
		ConfigHcl: []byte(opts.Config), ConfigFilename: ConfigFilename, ConfigLine: 1, ConfigColumn: 1,
		DataDir: h.DataDir, ClockAuthorityPublicKey: key.Public().(ed25519.PublicKey),
		ClockMaxAgeMs: opts.ClockMaxAge.Milliseconds(), InstanceName: opts.Name, LogLevel: opts.LogLevel,
	})
	if err != nil {
		return nil, err
	}
	if err := waitHealthy(ctx, h.client); err != nil {
		return nil, err
	}
	return h, nil
}

// launch starts the binary on a fresh loopback listener. The harness closes
// its own copy of the socket once the plugin holds it, so the port refuses
// connections as soon as the plugin process is gone.
func launch(ctx context.Context, opts Options, host pluginv1.HostServer, log zerolog.Logger) (*pluginhost.Client, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("plugintest: listen: %w", err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return nil, "", fmt.Errorf("plugintest: listener file: %w", err)
	}
	defer f.Close()
	name := opts.Name
	if name == "" {
		name = filepath.Base(opts.Binary)
	}
	lc := pluginhost.LaunchConfig{
		Name: name, Command: opts.Binary, Env: opts.Env, SHA256: opts.SHA256,
		Listener: f, Host: host, Logger: log, StartTimeout: opts.StartTimeout,
	}
	if opts.Sandbox {
		p := pluginhost.SandboxPolicy(opts.DataDir, nil, nil, nil)
		lc.Sandbox, lc.SandboxRequired = &p, true
	}
	client, err := pluginhost.Launch(ctx, lc)
	if err != nil {
		return nil, "", err
	}
	return client, "http://" + ln.Addr().String(), nil
}

// waitHealthy polls the Health RPC until the plugin says "ok".
func waitHealthy(ctx context.Context, c *pluginhost.Client) error {
	last := "no answer"
	for {
		resp, err := c.Health(ctx)
		switch {
		case err == nil && resp.Status == "ok":
			return nil
		case err == nil:
			last = resp.Status + ": " + resp.Detail
		default:
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s", ErrUnhealthy, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Client returns the host-side handle on the plugin process (Health, PID,
// Digest, Exited).
func (h *Harness) Client() *pluginhost.Client { return h.client }

// Audit returns the events the plugin appended so far, oldest first.
func (h *Harness) Audit() []AuditRecord { return h.host.audit.snapshot() }

// StopClock stops signing clock snapshots. The plugin's attested time goes
// stale once the newest snapshot is older than ClockMaxAge, and every
// route but /health must then answer 503 stale_attestation.
func (h *Harness) StopClock() { h.clock.setStopped(true) }

// ResumeClock signs and pushes a snapshot at once and resumes signing.
func (h *Harness) ResumeClock() { h.clock.setStopped(false) }

// Stop asks the plugin to stop accepting, drain in-flight requests for up to
// drain and exit. It is idempotent: later calls return the first result.
func (h *Harness) Stop(drain time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.stopped {
		h.stopped = true
		h.stopErr = h.client.Stop(context.Background(), drain)
	}
	return h.stopErr
}

// Kill ends the plugin process at once (SIGKILL), without a drain.
func (h *Harness) Kill() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.client.Kill()
	h.stopped = true
}

// Close stops the plugin with DefaultDrain unless it was stopped or killed
// already, then releases the test host. It returns the error of Stop.
func (h *Harness) Close() error {
	err := h.Stop(DefaultDrain)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		h.release()
	}
	if errors.Is(err, plugin.ErrUnavailable) && h.client.Exited() {
		// The plugin exited during the stop, which is what was asked.
		err = nil
	}
	return err
}

// release frees the host-side resources; the plugin process must be gone.
func (h *Harness) release() {
	if h.client != nil {
		h.client.Kill()
	}
	if h.clock != nil {
		h.clock.close()
	}
	if h.native != nil {
		h.native.Close()
	}
	h.cleanup()
}

// testLogWriter forwards log lines to t.Log until the test ends.
type testLogWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

// Write implements io.Writer; zerolog writes one event per call.
func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Helper()
		w.t.Log(string(trimNewline(p)))
	}
	return len(p), nil
}

func (w *testLogWriter) close() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

func trimNewline(p []byte) []byte {
	if n := len(p); n > 0 && p[n-1] == '\n' {
		return p[:n-1]
	}
	return p
}
