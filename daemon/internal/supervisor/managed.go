package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/audit"
	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/host"
	"github.com/aunsorm/aunsorm/daemon/internal/upstream"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/pluginhost"
)

// Plugin states reported in /health and the admin API.
const (
	StatusStarting   = "starting"
	StatusRunning    = "running"
	StatusRestarting = "restarting"
	StatusFailed     = "failed"
	StatusStopped    = "stopped"
)

// Managed is one configured plugin: its socket, its current process and its
// supervision state.
type Managed struct {
	s      *Supervisor
	name   string
	addr   string
	ln     net.Listener
	lnFile *os.File
	// local is the unix socket the gateway proxies over (nil: use TCP).
	local     net.Listener
	localFile *os.File
	localPath string
	binding   *host.Binding
	log       zerolog.Logger

	spec     atomic.Pointer[config.Plugin]
	inst     atomic.Pointer[instance]
	upstream atomic.Pointer[upstream.Pool]

	// opMu serialises restarts, swaps and stop.
	opMu sync.Mutex

	// refusing is set while the daemon itself drains the socket's accept
	// queue (no plugin process is there to accept).
	refuseMu   sync.Mutex
	refuseStop chan struct{}
	refuseDone []chan struct{}

	stMu      sync.Mutex
	status    string
	lastError string
	restarts  uint32
	crashes   []time.Time
	// nextAttempt is when the supervisor next tries to launch the plugin
	// (local monotonic time; zero when no attempt is scheduled).
	nextAttempt time.Time
	// loopDelay is the current crash-loop back-off (zero when not looping).
	loopDelay time.Duration
}

type instance struct {
	client  *pluginhost.Client
	desc    plugin.Descriptor
	started time.Time // local, for the uptime
	// startedAt is the attested time of the start, as reported.
	startedAt time.Time
}

func (s *Supervisor) newManaged(spec config.Plugin) (*Managed, error) {
	ln, f, err := listen("tcp", spec.Listen)
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %q on %s: %v", ErrListen, spec.Name, spec.Listen, err)
	}
	local, localFile, localPath, err := s.localSocket(spec.Name)
	if err != nil {
		ln.Close()
		f.Close()
		return nil, fmt.Errorf("%w: plugin %q unix socket: %v", ErrListen, spec.Name, err)
	}
	m := &Managed{s: s, name: spec.Name, addr: ln.Addr().String(), ln: ln, lnFile: f,
		local: local, localFile: localFile, localPath: localPath,
		binding: s.opts.Services.Bind(spec.Name), status: StatusStarting,
		log: s.log.With().Str("plugin", spec.Name).Logger()}
	m.spec.Store(&spec)
	m.upstream.Store(m.newUpstream(nil))
	return m, nil
}

// closeSockets closes the plugin's sockets (the daemon's copies).
func (m *Managed) closeSockets() {
	m.ln.Close()
	m.lnFile.Close()
	if m.local != nil {
		m.local.Close()
		m.localFile.Close()
	}
}

// newUpstream returns the upstream connection pool for one plugin
// generation (inst; nil while no process runs). Every swap and restart gets
// a fresh one so no request rides an idle connection to a process that is
// going away. It dials the plugin's unix socket when there is one, and
// speaks sdk/gatewire frames there when the process reports
// plugin.WireCapability; otherwise HTTP/1.1 (over TCP when the socket path
// would be too long).
func (m *Managed) newUpstream(inst *instance) *upstream.Pool {
	if m.localPath != "" {
		wire := inst != nil && slices.Contains(inst.desc.Capabilities, plugin.WireCapability)
		return upstream.New("unix", m.localPath, upstream.Options{Wire: wire})
	}
	return upstream.New("tcp", m.addr, upstream.Options{})
}

// knobs returns the effective supervision settings: the plugin block's
// own, else the supervisor's defaults.
func (m *Managed) knobs() config.Supervision {
	o := &m.s.opts
	k := m.spec.Load().Supervision
	pick := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	pick(&k.HealthInterval, o.HealthInterval)
	pick(&k.HealthTimeout, o.HealthTimeout)
	pick(&k.CrashWindow, o.CrashLoopWindow)
	pick(&k.BackoffMax, o.BackoffMax)
	pick(&k.DrainTimeout, o.DrainTimeout)
	if k.HealthFailures <= 0 {
		k.HealthFailures = o.HealthFailures
	}
	if k.MaxCrashes <= 0 {
		k.MaxCrashes = o.CrashLoopMax
	}
	return k
}

// Name returns the plugin's instance name.
func (m *Managed) Name() string { return m.name }

// Addr returns the plugin's listener address.
func (m *Managed) Addr() string { return m.addr }

// Upstream returns the current upstream connection pool.
func (m *Managed) Upstream() *upstream.Pool { return m.upstream.Load() }

func (m *Managed) current() *instance { return m.inst.Load() }

// install makes inst the live process with a fresh upstream pool for it,
// and returns the previous pool for the caller to close once requests
// already on it may finish.
func (m *Managed) install(inst *instance) (previous *upstream.Pool) {
	m.inst.Store(inst)
	return m.upstream.Swap(m.newUpstream(inst))
}

// Status returns the plugin's supervision state.
func (m *Managed) Status() string {
	m.stMu.Lock()
	defer m.stMu.Unlock()
	return m.status
}

func (m *Managed) setStatus(st, lastErr string) {
	m.stMu.Lock()
	m.status = st
	if lastErr != "" {
		m.lastError = lastErr
	}
	m.stMu.Unlock()
}

// Info is a snapshot of a plugin for topology, /health and the admin API.
type Info struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Version   string    `json:"version"`
	Status    string    `json:"status"`
	PID       int       `json:"pid"`
	Restarts  uint32    `json:"restarts"`
	Started   time.Time `json:"started,omitzero"`
	UptimeSec float64   `json:"uptime_seconds"`
	// NextAttempt is the attested time of the next launch attempt while
	// the plugin waits in back-off (restarting or failed); NextAttemptSec
	// is how far away it is.
	NextAttempt    time.Time `json:"next_attempt,omitzero"`
	NextAttemptSec float64   `json:"next_attempt_in_seconds,omitempty"`
	SHA256         string    `json:"sha256"`
	// Sandbox is the process's confinement: "landlock ABI n", "off" or
	// "unavailable" (see pluginhost.Client.Sandbox).
	Sandbox   string   `json:"sandbox,omitempty"`
	Listen    string   `json:"listener"`
	Routes    []string `json:"routes"`
	LastError string   `json:"last_error,omitempty"`
}

// Info returns the plugin's current state.
func (m *Managed) Info() Info {
	m.stMu.Lock()
	info := Info{Name: m.name, Status: m.status, Restarts: m.restarts, Listen: m.addr, LastError: m.lastError}
	next := m.nextAttempt
	m.stMu.Unlock()
	if !next.IsZero() && info.Status != StatusRunning {
		in := max(time.Until(next), 0)
		info.NextAttempt, info.NextAttemptSec = m.s.opts.Now().Add(in).UTC(), in.Seconds()
	}
	if inst := m.current(); inst != nil {
		info.Kind, info.Version, info.Routes = inst.desc.Kind, inst.desc.Version, inst.desc.Routes
		info.SHA256, info.Started, info.Sandbox = inst.client.Digest(), inst.startedAt, inst.client.Sandbox()
		if info.Status == StatusRunning {
			info.PID = inst.client.PID()
			info.UptimeSec = time.Since(inst.started).Seconds()
		}
	}
	return info
}

// SandboxLaunch sets lc's confinement from the block's sandbox settings
// (an unset mode is auto); dataDir, when not empty, is the plugin's
// writable data directory. A confined plugin cannot use the shared /tmp,
// so unless its block sets TMPDIR it gets <dataDir>/tmp.
func SandboxLaunch(lc *pluginhost.LaunchConfig, spec config.Plugin, dataDir string) error {
	if spec.Sandbox.Mode == config.SandboxOff {
		return nil
	}
	p := pluginhost.SandboxPolicy(dataDir, spec.Sandbox.Read, spec.Sandbox.Write, spec.Sandbox.Connect)
	lc.Sandbox = &p
	lc.SandboxRequired = spec.Sandbox.Mode == config.SandboxRequired
	if _, set := spec.Env["TMPDIR"]; !set && dataDir != "" {
		tmp := filepath.Join(dataDir, "tmp")
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return fmt.Errorf("plugin %q: temporary directory: %w", spec.Name, err)
		}
		lc.Env = append(slices.Clip(lc.Env), "TMPDIR="+tmp)
	}
	return nil
}

// ConfigureRequest returns the part of a plugin's Configure request that
// comes from its block: the instance name and its config body with where
// it starts in the file (for the plugin's own diagnostics).
func ConfigureRequest(spec config.Plugin) *pluginhost.ConfigureRequest {
	return &pluginhost.ConfigureRequest{
		InstanceName:   spec.Name,
		ConfigHcl:      spec.ConfigBody,
		ConfigFilename: spec.ConfigRange.Filename,
		ConfigLine:     int32(spec.ConfigRange.Start.Line),
		ConfigColumn:   int32(spec.ConfigRange.Start.Column),
		ConfigByte:     int32(spec.ConfigRange.Start.Byte),
	}
}

// start launches, configures and waits for a healthy instance of spec.
func (m *Managed) start(ctx context.Context, spec config.Plugin) (*instance, error) {
	o := &m.s.opts
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	t0 := time.Now()
	// The data directory exists before the process does: a confined
	// plugin could not create it.
	dataDir, err := filepath.Abs(filepath.Join(o.DataDir, "plugins", spec.Name))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("plugin %q: data dir: %w", spec.Name, err)
	}
	lc := pluginhost.LaunchConfig{
		Name: spec.Name, Command: spec.Command, Args: spec.Args, Env: spec.Environ(), SHA256: spec.SHA256,
		Listener: m.lnFile, LocalListener: m.localFile, Host: m.binding, Logger: o.Log, StartTimeout: o.StartTimeout,
		Digests: &m.s.digests,
	}
	if err := SandboxLaunch(&lc, spec, dataDir); err != nil {
		return nil, err
	}
	client, err := pluginhost.Launch(ctx, lc)
	if err != nil {
		return nil, err
	}
	launched := time.Since(t0)
	desc := client.Descriptor()
	m.binding.Declare(desc.HostServices)
	req := ConfigureRequest(spec)
	req.DataDir = dataDir
	req.ClockAuthorityPublicKey = o.ClockKey
	req.ClockMaxAgeMs = o.ClockMaxAge.Milliseconds()
	req.RngReseedIntervalMs = o.ReseedInterval.Milliseconds()
	req.LogLevel = o.LogLevel
	err = client.Configure(ctx, req)
	if err != nil {
		client.Kill()
		return nil, err
	}
	configured := time.Since(t0)
	for {
		h, err := client.Health(ctx)
		if err == nil && h.Status == "ok" {
			break
		}
		select {
		case <-ctx.Done():
			client.Kill()
			detail := "no answer"
			if h != nil {
				detail = h.Status + ": " + h.Detail
			}
			return nil, fmt.Errorf("%w: plugin %q: %s", ErrUnhealthy, spec.Name, detail)
		case <-time.After(20 * time.Millisecond):
		}
	}
	m.log.Info().Str("kind", desc.Kind).Str("version", desc.Version).Int("pid", client.PID()).
		Str("listen", m.addr).Dur("launch_ms", launched).Dur("configure_ms", configured).
		Dur("ready_ms", time.Since(t0)).Msg("plugin ready")
	return &instance{client: client, desc: desc, started: time.Now(), startedAt: o.Now().UTC()}, nil
}

// supervise watches the current instance until ctx ends: exit is polled
// every 10 ms (go-plugin has no exit callback), health every HealthInterval
// as the current spec sets it (a reload changes it from the next poll).
func (m *Managed) supervise(ctx context.Context) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	lastHealth := time.Now()
	failures := 0
	for {
		var now time.Time
		select {
		case <-ctx.Done():
			return
		case now = <-tick.C:
		}
		inst := m.current()
		if inst == nil || m.Status() == StatusFailed {
			continue
		}
		if inst.client.Exited() {
			m.recover(ctx, inst, "exited")
			failures, lastHealth = 0, time.Now()
			continue
		}
		k := m.knobs()
		if now.Sub(lastHealth) < k.HealthInterval || m.Status() != StatusRunning {
			continue
		}
		lastHealth = now
		hctx, cancel := context.WithTimeout(ctx, k.HealthTimeout)
		_, err := inst.client.Health(hctx)
		cancel()
		if err == nil {
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		m.log.Warn().Err(err).Int("failures", failures).Msg("health ping failed")
		if failures >= k.HealthFailures {
			inst.client.Kill()
			m.recover(ctx, inst, "unresponsive")
			failures, lastHealth = 0, time.Now()
		}
	}
}

// recover relaunches after a crash or hang, with exponential backoff (the
// first attempt is immediate, then BackoffInitial doubling to backoff_max).
// A plugin that crashes more than max_crashes times within crash_window is
// marked failed (crash-looping) and still retried, with a back-off that
// starts at backoff_max and doubles up to CrashLoopBackoffMax, as a crash
// loop back-off does; a reload retries at once. While it waits, the daemon
// refuses connections on the socket (ADR 3) and Info reports the next
// attempt. opMu is held only while launching, so a reload may swap the
// plugin during a wait; recover then returns.
func (m *Managed) recover(ctx context.Context, dead *instance, reason string) {
	m.opMu.Lock()
	if m.current() != dead || m.Status() == StatusStopped { // swapped or stopped meanwhile: not a crash of the live instance
		m.opMu.Unlock()
		return
	}
	o := &m.s.opts
	k := m.knobs()
	m.setStatus(StatusRestarting, "plugin "+reason)
	dead.client.Kill()
	m.log.Error().Str("reason", reason).Str("version", dead.desc.Version).Msg("plugin died; relaunching")
	m.s.audit(ctx, "plugin.crash", m, dead, reason, nil)
	// Connections to the dead process are gone; start the new one clean.
	m.upstream.Swap(m.newUpstream(nil)).Close()
	m.opMu.Unlock()

	delay := time.Duration(0)
	for attempt := 1; ; attempt++ {
		if m.crashLoop(k) {
			delay = m.nextLoopDelay(k)
			if m.Status() != StatusFailed {
				m.setStatus(StatusFailed, fmt.Sprintf("crashed more than %d times within %s", k.MaxCrashes, k.CrashWindow))
				m.log.Error().Dur("next_attempt_in", delay).Msg("plugin crash-looping; marked failed, retrying with back-off")
				m.s.audit(ctx, "plugin.failed", m, dead, "crash_loop", map[string]any{"next_attempt_in_ms": delay.Milliseconds()})
			}
		} else {
			m.resetLoopDelay()
		}
		if delay > 0 && !m.wait(ctx, delay) {
			return
		}
		m.opMu.Lock()
		if m.current() != dead || m.Status() == StatusStopped || ctx.Err() != nil {
			m.opMu.Unlock()
			return
		}
		spec := *m.spec.Load()
		inst, err := m.start(ctx, spec)
		if err == nil {
			m.install(inst).Close()
			m.stMu.Lock()
			m.restarts++
			m.stMu.Unlock()
			m.setStatus(StatusRunning, "")
			m.s.audit(ctx, "plugin.restart", m, inst, "ok", map[string]any{"attempt": attempt})
			m.opMu.Unlock()
			return
		}
		m.opMu.Unlock()
		m.log.Error().Err(err).Int("attempt", attempt).Msg("relaunch failed")
		st := StatusRestarting
		if m.Status() == StatusFailed {
			st = StatusFailed
		}
		m.setStatus(st, err.Error())
		if ctx.Err() != nil {
			return
		}
		if delay == 0 {
			delay = o.BackoffInitial
		} else if delay *= 2; delay > k.BackoffMax {
			delay = k.BackoffMax
		}
	}
}

// wait sleeps for delay with the socket refusing connections and the next
// attempt on show; it reports false when ctx ended first.
func (m *Managed) wait(ctx context.Context, delay time.Duration) bool {
	m.stMu.Lock()
	m.nextAttempt = time.Now().Add(delay)
	m.stMu.Unlock()
	m.startRefusing()
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	m.stopRefusing()
	m.stMu.Lock()
	m.nextAttempt = time.Time{}
	m.stMu.Unlock()
	return ctx.Err() == nil
}

// nextLoopDelay returns the next crash-loop back-off: backoff_max, then
// doubling up to CrashLoopBackoffMax (never below backoff_max).
func (m *Managed) nextLoopDelay(k config.Supervision) time.Duration {
	ceiling := max(m.s.opts.CrashLoopBackoffMax, k.BackoffMax)
	m.stMu.Lock()
	defer m.stMu.Unlock()
	if m.loopDelay == 0 {
		m.loopDelay = k.BackoffMax
	} else {
		m.loopDelay = min(m.loopDelay*2, ceiling)
	}
	return m.loopDelay
}

func (m *Managed) resetLoopDelay() {
	m.stMu.Lock()
	m.loopDelay = 0
	m.stMu.Unlock()
}

// crashLoop records a crash and reports whether the window limit is passed.
func (m *Managed) crashLoop(k config.Supervision) bool {
	now := time.Now()
	m.stMu.Lock()
	defer m.stMu.Unlock()
	kept := m.crashes[:0]
	for _, t := range m.crashes {
		if now.Sub(t) < k.CrashWindow {
			kept = append(kept, t)
		}
	}
	m.crashes = append(kept, now)
	return len(m.crashes) > k.MaxCrashes
}

// stop drains and stops the plugin and closes its socket.
func (m *Managed) stop(ctx context.Context) {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if inst := m.current(); inst != nil && !inst.client.Exited() {
		if err := inst.client.Stop(ctx, m.knobs().DrainTimeout); err != nil {
			m.log.Warn().Err(err).Msg("plugin stop")
		}
		m.s.audit(ctx, "plugin.stop", m, inst, "ok", nil)
	}
	m.stopRefusing()
	m.setStatus(StatusStopped, "")
	m.upstream.Load().Close()
	m.closeSockets()
}

func auditEvent(action, subject, outcome string, details map[string]any) audit.Event {
	raw, _ := json.Marshal(details)
	// No Time: the log stamps the record with the daemon's attested clock.
	return audit.Event{Source: audit.SourceDaemon, Action: action, Subject: subject, Outcome: outcome, Details: raw}
}
