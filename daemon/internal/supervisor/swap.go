package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
)

// switchGrace is how long the old process keeps its open connections after
// the gateway switched to the new transport, before Stop closes the idle
// ones: a request that picked an old idle connection just before the switch
// is then already being read, and finishes normally.
const switchGrace = 200 * time.Millisecond

// PluginChange reports what a reload did to one plugin.
type PluginChange struct {
	Name       string `json:"name"`
	Action     string `json:"action"` // started, swapped, restarted, stopped, unchanged, rolled_back
	OldVersion string `json:"old_version,omitempty"`
	NewVersion string `json:"new_version,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Reload applies a new set of plugin blocks: new plugins start, removed ones
// stop, a plugin whose block or binary changed is hot-swapped, a failed one
// is restarted, and the others are left alone. A plugin whose swap fails
// keeps its old process (rolled back); the error lists every failure.
func (s *Supervisor) Reload(ctx context.Context, specs []config.Plugin) ([]PluginChange, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	var changes []PluginChange
	var errs []error
	wanted := map[string]bool{}
	for _, spec := range specs {
		wanted[spec.Name] = true
		m, ok := s.Get(spec.Name)
		if !ok {
			ch, err := s.add(ctx, spec)
			changes = append(changes, ch)
			errs = append(errs, err)
			continue
		}
		ch, err := m.reload(ctx, spec, false)
		changes = append(changes, ch)
		errs = append(errs, err)
	}
	for _, m := range s.Plugins() {
		if !wanted[m.name] {
			old := m.Info().Version
			m.stop(ctx)
			s.remove(m.name)
			changes = append(changes, PluginChange{Name: m.name, Action: "stopped", OldVersion: old})
		}
	}
	if err := s.rebuildRoutes(); err != nil {
		errs = append(errs, err)
	}
	return changes, errors.Join(errs...)
}

// ReloadPlugin swaps one plugin with spec even when nothing changed (a
// graceful restart, e.g. after replacing the binary on disk).
func (s *Supervisor) ReloadPlugin(ctx context.Context, spec config.Plugin) (PluginChange, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	m, ok := s.Get(spec.Name)
	if !ok {
		return PluginChange{Name: spec.Name}, fmt.Errorf("%w: %q", ErrUnknownPlugin, spec.Name)
	}
	ch, err := m.reload(ctx, spec, true)
	if rerr := s.rebuildRoutes(); rerr != nil && err == nil {
		err = rerr
	}
	return ch, err
}

func (s *Supervisor) add(ctx context.Context, spec config.Plugin) (PluginChange, error) {
	ch := PluginChange{Name: spec.Name, Action: "started"}
	m, err := s.newManaged(spec)
	if err != nil {
		ch.Action, ch.Error = "rolled_back", err.Error()
		return ch, err
	}
	inst, err := m.start(ctx, spec)
	if err != nil {
		m.closeSockets()
		ch.Action, ch.Error = "rolled_back", err.Error()
		return ch, err
	}
	m.install(inst).Close()
	m.setStatus(StatusRunning, "")
	s.mu.Lock()
	s.plugins[spec.Name] = m
	s.order = append(s.order, spec.Name)
	s.mu.Unlock()
	s.audit(ctx, "plugin.start", m, inst, "ok", nil)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		m.supervise(s.ctx)
	}()
	ch.NewVersion = inst.desc.Version
	return ch, nil
}

func (s *Supervisor) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.plugins, name)
	for i, n := range s.order {
		if n == name {
			s.order = append(s.order[:i:i], s.order[i+1:]...)
			break
		}
	}
}

// reload decides whether the plugin needs a swap and performs it.
func (m *Managed) reload(ctx context.Context, spec config.Plugin, force bool) (PluginChange, error) {
	ch := PluginChange{Name: m.name, Action: "unchanged"}
	cur := m.current()
	if cur != nil {
		ch.OldVersion = cur.desc.Version
	}
	old := m.spec.Load()
	if spec.Listen != old.Listen {
		err := fmt.Errorf("%w: plugin %q: changing listen from %s to %s needs a daemon restart", ErrReload, m.name, old.Listen, spec.Listen)
		ch.Action, ch.Error = "rolled_back", err.Error()
		return ch, err
	}
	failed := m.Status() == StatusFailed
	changed := force || failed || spec.Hash != old.Hash || cur == nil
	if !changed {
		if digest, err := m.s.digests.Digest(spec.Command); err != nil || digest != cur.client.Digest() {
			changed = true // the binary on disk was replaced
		}
	}
	if !changed {
		return ch, nil
	}
	newVersion, err := m.swap(ctx, spec)
	if err != nil {
		ch.Action, ch.Error = "rolled_back", err.Error()
		return ch, err
	}
	ch.Action, ch.NewVersion = "swapped", newVersion
	if failed {
		ch.Action = "restarted"
	}
	return ch, nil
}

// swap replaces the running process with one started from spec, on the
// same socket, without refusing or failing a request:
//
//  1. start, configure and health-check the new process (it accepts on
//     the shared socket from then on);
//  2. the old process stops accepting (Drain);
//  3. the gateway switches to a fresh upstream transport, so no new request
//     rides a connection to the old process;
//  4. after a short grace the old process drains its in-flight requests and
//     exits (Stop); the old transport's idle connections are dropped.
//
// Any failure in step 1 rolls back: the old process never stopped serving.
func (m *Managed) swap(ctx context.Context, spec config.Plugin) (string, error) {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	old := m.current()
	st := m.Status()
	// Down (crashed, waiting in back-off or crash-looping): the daemon
	// refuses on the socket; the new process takes it over.
	wasDown := st == StatusFailed || st == StatusRestarting
	m.stopRefusing()
	started := time.Now()
	inst, err := m.start(ctx, spec)
	if err == nil && old != nil {
		err = m.s.checkRoutes(m.name, inst.desc.Routes)
		if err != nil {
			inst.client.Kill()
		}
	}
	if err != nil {
		if wasDown {
			m.startRefusing()
		}
		m.log.Error().Err(err).Msg("swap failed; rolled back, the running plugin keeps serving")
		m.s.audit(ctx, "plugin.rollback", m, old, "rolled_back", map[string]any{"error": err.Error(), "new_command": spec.Command})
		return "", err
	}
	m.spec.Store(&spec)
	if old != nil && !old.client.Exited() {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := old.client.Drain(dctx); err != nil {
			m.log.Warn().Err(err).Msg("drain of the old process failed")
		}
		cancel()
	}
	oldUpstream := m.install(inst)
	m.stMu.Lock()
	m.crashes, m.loopDelay, m.nextAttempt = nil, 0, time.Time{}
	m.stMu.Unlock()
	m.setStatus(StatusRunning, "")
	m.log.Info().Str("version", inst.desc.Version).Dur("took", time.Since(started)).Msg("plugin swapped")

	if old != nil {
		time.Sleep(switchGrace)
		if !old.client.Exited() {
			if err := old.client.Stop(ctx, m.knobs().DrainTimeout); err != nil {
				m.log.Warn().Err(err).Msg("stop of the old process")
			}
		} else {
			old.client.Kill()
		}
	}
	oldUpstream.Close()
	extra := map[string]any{"took_ms": time.Since(started).Milliseconds()}
	if old != nil {
		extra["old_version"], extra["old_sha256"] = old.desc.Version, old.client.Digest()
	}
	m.s.audit(ctx, "plugin.swap", m, inst, "ok", extra)
	return inst.desc.Version, nil
}

// checkRoutes refuses routes another plugin already serves.
func (s *Supervisor) checkRoutes(name string, routes []string) error {
	for _, r := range s.Routes() {
		if r.Plugin.name == name {
			continue
		}
		for _, p := range routes {
			if p == r.Prefix {
				return fmt.Errorf("%w: route %s is served by plugin %q", ErrRouteConflict, p, r.Plugin.name)
			}
		}
	}
	return nil
}
