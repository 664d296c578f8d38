// Package supervisor runs the daemon's plugins: it owns each plugin's
// listening socket, launches the plugin process on it (sdk/pluginhost.Launch),
// configures it, watches it (exit polling and health pings) and relaunches it
// with backoff when it dies or hangs, on the same socket, so connections that
// arrive meanwhile wait in the kernel's accept queue instead of being refused.
package supervisor

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/audit"
	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/host"
	"github.com/aunsorm/aunsorm/daemon/internal/upstream"
	"github.com/aunsorm/aunsorm/sdk/pluginhost"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// Options configures a Supervisor.
type Options struct {
	// DataDir is the daemon's data directory; plugin i keeps its state in
	// DataDir/plugins/<name>.
	DataDir string
	// ClockKey is the attestation authority key handed to plugins.
	ClockKey ed25519.PublicKey
	// ClockMaxAge and ReseedInterval are handed to plugins.
	ClockMaxAge    time.Duration
	ReseedInterval time.Duration
	// LogLevel is the plugins' log level.
	LogLevel string
	// Services are the host services; each plugin gets a binding.
	Services *host.Services
	// Audit records lifecycle events (may be nil).
	Audit *audit.Log
	// Storage is the daemon's storage block, handed to every plugin for
	// its store (store.OpenPlugin).
	Storage config.Storage
	// Log is the daemon logger.
	Log zerolog.Logger
	// Now is the attested clock for the times the supervisor reports
	// (started, next_attempt); the local clock when nil.
	Now func() time.Time
	// SealKeys returns a plugin instance's sealing keys (one per root key
	// version, derived for that name only). It is called at every start of
	// an instance, so a rotated root key reaches the plugin on its next
	// start; an error fails the start. Nil: plugins get no sealer.
	SealKeys func(instance string) ([]*pluginv1.SealKey, error)

	// Supervision knobs; zero means the documented default.
	StartTimeout    time.Duration // launch + handshake + configure + healthy (10s)
	HealthInterval  time.Duration // between health pings (1s)
	HealthTimeout   time.Duration // deadline of one ping (1s)
	HealthFailures  int           // failed pings before a kill (3)
	BackoffInitial  time.Duration // second relaunch delay; the first is immediate (100ms)
	BackoffMax      time.Duration // cap (10s)
	CrashLoopMax    int           // crashes within CrashLoopWindow before "failed" (5)
	CrashLoopWindow time.Duration // (60s)
	// CrashLoopBackoffMax caps the delay between attempts of a crash-looping
	// ("failed") plugin, which starts at the block's backoff_max and
	// doubles (5m; never below backoff_max).
	CrashLoopBackoffMax time.Duration
	DrainTimeout        time.Duration // drain of a replaced or stopped plugin (10s)
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.StartTimeout, 10*time.Second)
	def(&o.HealthInterval, time.Second)
	def(&o.HealthTimeout, time.Second)
	def(&o.BackoffInitial, 100*time.Millisecond)
	def(&o.BackoffMax, 10*time.Second)
	def(&o.CrashLoopWindow, 60*time.Second)
	def(&o.DrainTimeout, 10*time.Second)
	def(&o.CrashLoopBackoffMax, 5*time.Minute)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HealthFailures <= 0 {
		o.HealthFailures = 3
	}
	if o.CrashLoopMax <= 0 {
		o.CrashLoopMax = 5
	}
}

// Supervisor owns the plugins.
type Supervisor struct {
	opts Options
	log  zerolog.Logger

	reloadMu sync.Mutex // one reload at a time
	digests  pluginhost.DigestCache

	mu      sync.RWMutex
	plugins map[string]*Managed
	order   []string
	routes  []Route

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Route maps a path prefix to the plugin serving it.
type Route struct {
	Prefix string
	Plugin *Managed
}

// New returns a Supervisor; Start launches the plugins.
func New(opts Options) *Supervisor {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Supervisor{opts: opts, log: opts.Log.With().Str("component", "supervisor").Logger(),
		plugins: map[string]*Managed{}, ctx: ctx, cancel: cancel}
}

// Start opens every plugin's listener and launches the plugins in order. If
// any fails, the ones started are stopped and the error names the plugin.
func (s *Supervisor) Start(ctx context.Context, specs []config.Plugin) error {
	for i := range specs {
		spec := specs[i]
		m, err := s.newManaged(spec)
		if err != nil {
			s.Shutdown(ctx)
			return err
		}
		s.mu.Lock()
		s.plugins[spec.Name] = m
		s.order = append(s.order, spec.Name)
		s.mu.Unlock()
		inst, err := m.start(ctx, spec)
		if err != nil {
			s.Shutdown(ctx)
			return err
		}
		m.install(inst).Close()
		s.audit(ctx, "plugin.start", m, inst, "ok", nil)
		m.setStatus(StatusRunning, "")
	}
	if err := s.rebuildRoutes(); err != nil {
		s.Shutdown(ctx)
		return err
	}
	for _, name := range s.order {
		m := s.plugins[name]
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			m.supervise(s.ctx)
		}()
	}
	return nil
}

// rebuildRoutes recomputes the prefix table from every plugin's current
// descriptor, refusing a prefix claimed by two plugins.
func (s *Supervisor) rebuildRoutes() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner := map[string]string{}
	var routes []Route
	for _, name := range s.order {
		m := s.plugins[name]
		inst := m.current()
		if inst == nil {
			continue
		}
		for _, p := range inst.desc.Routes {
			if o, dup := owner[p]; dup && o != name {
				return fmt.Errorf("%w: route %s is claimed by plugins %q and %q", ErrRouteConflict, p, o, name)
			}
			owner[p] = name
			routes = append(routes, Route{Prefix: p, Plugin: m})
		}
	}
	// Longest prefix first, so "/oauth/device/" wins over "/oauth/".
	sort.SliceStable(routes, func(i, j int) bool { return len(routes[i].Prefix) > len(routes[j].Prefix) })
	s.routes = routes
	return nil
}

// Routes returns the current route table, longest prefix first.
func (s *Supervisor) Routes() []Route {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.routes
}

// Match returns the plugin owning path, if any.
func (s *Supervisor) Match(path string) (*Managed, string, bool) {
	s.mu.RLock()
	routes := s.routes
	s.mu.RUnlock()
	for _, r := range routes {
		if strings.HasPrefix(path, r.Prefix) || isPrefixRoot(path, r.Prefix) {
			return r.Plugin, r.Prefix, true
		}
	}
	return nil, "", false
}

// isPrefixRoot reports whether path is prefix without its trailing slash
// ("/crypto" for "/crypto/"), without building path+"/".
func isPrefixRoot(path, prefix string) bool {
	return len(path)+1 == len(prefix) && prefix[len(path)] == '/' && strings.HasPrefix(prefix, path)
}

// Plugins returns the managed plugins in configuration order.
func (s *Supervisor) Plugins() []*Managed {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Managed, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, s.plugins[n])
	}
	return out
}

// Get returns the managed plugin by name.
func (s *Supervisor) Get(name string) (*Managed, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.plugins[name]
	return m, ok
}

// PeerPool implements host.Directory.
func (s *Supervisor) PeerPool(name string) (*upstream.Pool, bool) {
	m, ok := s.Get(name)
	if !ok || m.Status() != StatusRunning {
		return nil, false
	}
	return m.Upstream(), true
}

// Topology implements host.Directory.
func (s *Supervisor) Topology() []*pluginv1.PluginInfo {
	var out []*pluginv1.PluginInfo
	for _, m := range s.Plugins() {
		info := m.Info()
		out = append(out, &pluginv1.PluginInfo{Name: info.Name, Kind: info.Kind, Version: info.Version, Listen: info.Listen,
			Status: info.Status, Routes: info.Routes, Sha256: info.SHA256, Pid: int64(info.PID), Restarts: info.Restarts})
	}
	return out
}

// maxSocketPath is the longest unix socket path Linux accepts (sun_path).
const maxSocketPath = 107

// localSocket opens the unix socket the gateway reaches the plugin on,
// <data_dir>/run/<name>.sock (0600 in a 0700 directory). It returns nil
// when the path would be too long: the gateway then uses the TCP socket.
func (s *Supervisor) localSocket(name string) (net.Listener, *os.File, string, error) {
	dir, err := filepath.Abs(filepath.Join(s.opts.DataDir, "run"))
	if err != nil {
		return nil, nil, "", err
	}
	path := filepath.Join(dir, name+".sock")
	if len(path) > maxSocketPath {
		s.log.Warn().Str("plugin", name).Str("path", path).Msg("unix socket path too long; the gateway proxies over TCP")
		return nil, nil, "", nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, "", err
	}
	_ = os.Remove(path) // a stale socket from a daemon that was killed
	ln, f, err := listen("unix", path)
	if err != nil {
		return nil, nil, "", err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		f.Close()
		return nil, nil, "", err
	}
	return ln, f, path, nil
}

// Shutdown stops supervision and drains and stops every plugin.
func (s *Supervisor) Shutdown(ctx context.Context) {
	s.cancel()
	s.wg.Wait()
	var wg sync.WaitGroup
	for _, m := range s.Plugins() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.stop(ctx)
		}()
	}
	wg.Wait()
}

func (s *Supervisor) audit(ctx context.Context, action string, m *Managed, inst *instance, outcome string, extra map[string]any) {
	if s.opts.Audit == nil {
		return
	}
	details := map[string]any{"listen": m.addr}
	if inst != nil {
		details["version"] = inst.desc.Version
		details["sha256"] = inst.client.Digest()
		details["pid"] = inst.client.PID()
	}
	for k, v := range extra {
		details[k] = v
	}
	if _, err := s.opts.Audit.Append(ctx, auditEvent(action, m.name, outcome, details)); err != nil {
		s.log.Error().Err(err).Str("action", action).Msg("audit append failed")
	}
}

// listen opens a plugin socket; the daemon keeps it for the plugin's whole
// life so replacements reuse it.
func listen(network, addr string) (net.Listener, *os.File, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, nil, err
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(true)
		f, err := ul.File()
		if err != nil {
			ln.Close()
			return nil, nil, err
		}
		return ln, f, nil
	}
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		ln.Close()
		return nil, nil, errors.New("not a TCP or unix listener")
	}
	f, err := tl.File()
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return ln, f, nil
}
