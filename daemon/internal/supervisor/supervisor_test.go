package supervisor

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/host"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/pluginhost"
)

// testSupervisor returns a Supervisor with no plugins and default knobs.
func testSupervisor(t *testing.T, opts Options) *Supervisor {
	t.Helper()
	opts.Log = zerolog.Nop()
	if opts.Services == nil {
		opts.Services = host.New(host.Services{Log: zerolog.Nop()})
	}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	s := New(opts)
	// Plugins added by addManaged have no socket or process to stop, so
	// only supervision is cancelled here; Start cleans up after itself.
	t.Cleanup(s.cancel)
	return s
}

// addManaged registers a plugin with the given routes directly (no
// process); nil routes leave it without an instance.
func addManaged(s *Supervisor, name string, routes ...string) *Managed {
	m := &Managed{s: s, name: name, addr: "127.0.0.1:1", status: StatusRunning, log: zerolog.Nop()}
	m.spec.Store(&config.Plugin{Name: name, Listen: "127.0.0.1:1"})
	m.upstream.Store(m.newUpstream(nil))
	if routes != nil {
		m.install(&instance{desc: plugin.Descriptor{Name: name, Version: "1.0.0", Routes: routes}})
	}
	s.mu.Lock()
	s.plugins[name] = m
	s.order = append(s.order, name)
	s.mu.Unlock()
	return m
}

func TestMatch(t *testing.T) {
	s := testSupervisor(t, Options{})
	oauth := addManaged(s, "oauth", "/oauth/", "/.well-known/")
	device := addManaged(s, "device", "/oauth/device/")
	crypto := addManaged(s, "crypto", "/crypto/")
	addManaged(s, "idle") // no instance: no routes
	if err := s.rebuildRoutes(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       *Managed
		prefix     string
	}{
		{"ok/prefix", "/crypto/encrypt", crypto, "/crypto/"},
		{"ok/prefix-itself", "/crypto/", crypto, "/crypto/"},
		{"ok/exact-prefix-without-slash", "/crypto", crypto, "/crypto/"},
		{"ok/longest-prefix-wins", "/oauth/device/code", device, "/oauth/device/"},
		{"ok/longest-prefix-exact-without-slash", "/oauth/device", device, "/oauth/device/"},
		{"ok/shorter-prefix", "/oauth/token", oauth, "/oauth/"},
		{"ok/shorter-prefix-without-slash", "/oauth", oauth, "/oauth/"},
		{"ok/second-route-of-a-plugin", "/.well-known/jwks.json", oauth, "/.well-known/"},
		{"fail/sibling-name", "/cryptography", nil, ""},
		{"ok/sibling-of-nested-falls-back-to-parent", "/oauth/devices", oauth, "/oauth/"},
		{"fail/root", "/", nil, ""},
		{"fail/empty", "", nil, ""},
		{"fail/case-differs", "/CRYPTO/x", nil, ""},
		{"fail/unrouted", "/health", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, prefix, ok := s.Match(tc.path)
			if ok != (tc.want != nil) || m != tc.want || prefix != tc.prefix {
				name := "<none>"
				if m != nil {
					name = m.Name()
				}
				t.Fatalf("Match(%q) = %s %q %v, want prefix %q", tc.path, name, prefix, ok, tc.prefix)
			}
		})
	}
	t.Run("ok/routes-longest-first", func(t *testing.T) {
		rs := s.Routes()
		if len(rs) != 4 {
			t.Fatalf("%d routes, want 4", len(rs))
		}
		for i := 1; i < len(rs); i++ {
			if len(rs[i].Prefix) > len(rs[i-1].Prefix) {
				t.Fatalf("routes not sorted longest first: %v then %v", rs[i-1].Prefix, rs[i].Prefix)
			}
		}
	})
}

func TestRebuildRoutesConflict(t *testing.T) {
	tests := []struct {
		name    string
		plugins map[string][]string // in order a, b
		wantErr bool
	}{
		{"ok/disjoint", map[string][]string{"a": {"/a/"}, "b": {"/b/"}}, false},
		{"ok/nested", map[string][]string{"a": {"/a/"}, "b": {"/a/b/"}}, false},
		{"ok/same-plugin-twice", map[string][]string{"a": {"/a/", "/a/"}, "b": {"/b/"}}, false},
		{"fail/same-prefix", map[string][]string{"a": {"/x/"}, "b": {"/x/"}}, true},
		{"fail/one-of-several", map[string][]string{"a": {"/a/", "/shared/"}, "b": {"/b/", "/shared/"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testSupervisor(t, Options{})
			addManaged(s, "a", tc.plugins["a"]...)
			addManaged(s, "b", tc.plugins["b"]...)
			before := s.Routes()
			err := s.rebuildRoutes()
			if !tc.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrRouteConflict) {
				t.Fatalf("err = %v, want ErrRouteConflict", err)
			}
			if len(s.Routes()) != len(before) {
				t.Fatal("a refused table replaced the current routes")
			}
		})
	}
}

func TestCheckRoutes(t *testing.T) {
	s := testSupervisor(t, Options{})
	addManaged(s, "a", "/a/")
	addManaged(s, "b", "/b/")
	if err := s.rebuildRoutes(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, plugin string
		routes       []string
		wantErr      bool
	}{
		{"ok/own-prefix", "a", []string{"/a/"}, false},
		{"ok/new-prefix", "a", []string{"/a/", "/a2/"}, false},
		{"ok/new-plugin", "c", []string{"/c/"}, false},
		{"fail/other-plugins-prefix", "a", []string{"/a/", "/b/"}, true},
		{"fail/new-plugin-taking-prefix", "c", []string{"/b/"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.checkRoutes(tc.plugin, tc.routes)
			if tc.wantErr != errors.Is(err, ErrRouteConflict) || (!tc.wantErr && err != nil) {
				t.Fatalf("checkRoutes = %v, want conflict %v", err, tc.wantErr)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Options
		want Options
	}{
		{"ok/zero", Options{}, Options{StartTimeout: 10 * time.Second, HealthInterval: time.Second, HealthTimeout: time.Second,
			HealthFailures: 3, BackoffInitial: 100 * time.Millisecond, BackoffMax: 10 * time.Second, CrashLoopMax: 5,
			CrashLoopWindow: time.Minute, DrainTimeout: 10 * time.Second, CrashLoopBackoffMax: 5 * time.Minute}},
		{"ok/negative", Options{StartTimeout: -1, HealthFailures: -2, CrashLoopMax: -1}, Options{StartTimeout: 10 * time.Second,
			HealthInterval: time.Second, HealthTimeout: time.Second, HealthFailures: 3, BackoffInitial: 100 * time.Millisecond,
			BackoffMax: 10 * time.Second, CrashLoopMax: 5, CrashLoopWindow: time.Minute, DrainTimeout: 10 * time.Second, CrashLoopBackoffMax: 5 * time.Minute}},
		{"ok/kept", Options{StartTimeout: 2 * time.Second, HealthInterval: 50 * time.Millisecond, HealthTimeout: 20 * time.Millisecond,
			HealthFailures: 1, BackoffInitial: time.Millisecond, BackoffMax: time.Second, CrashLoopMax: 2,
			CrashLoopWindow: 5 * time.Second, DrainTimeout: 3 * time.Second, CrashLoopBackoffMax: time.Minute}, Options{StartTimeout: 2 * time.Second,
			HealthInterval: 50 * time.Millisecond, HealthTimeout: 20 * time.Millisecond, HealthFailures: 1, BackoffInitial: time.Millisecond,
			BackoffMax: time.Second, CrashLoopMax: 2, CrashLoopWindow: 5 * time.Second, DrainTimeout: 3 * time.Second, CrashLoopBackoffMax: time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in
			got.defaults()
			if got.Now == nil {
				t.Fatal("no default clock")
			}
			got.Now = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("defaults() =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestKnobs(t *testing.T) {
	defaults := config.Supervision{HealthInterval: time.Second, HealthTimeout: time.Second, HealthFailures: 3,
		MaxCrashes: 5, CrashWindow: time.Minute, BackoffMax: 10 * time.Second, DrainTimeout: 10 * time.Second}
	daemonWide := Options{HealthInterval: 200 * time.Millisecond, HealthTimeout: 100 * time.Millisecond, HealthFailures: 2,
		CrashLoopMax: 4, CrashLoopWindow: 30 * time.Second, BackoffMax: 2 * time.Second, DrainTimeout: 5 * time.Second}
	own := config.Supervision{HealthInterval: 50 * time.Millisecond, HealthTimeout: 40 * time.Millisecond, HealthFailures: 7,
		MaxCrashes: 9, CrashWindow: 7 * time.Second, BackoffMax: 3 * time.Second, DrainTimeout: time.Second}
	tests := []struct {
		name   string
		opts   Options
		plugin config.Supervision
		want   config.Supervision
	}{
		{"ok/documented-defaults", Options{}, config.Supervision{}, defaults},
		{"ok/daemon-wide-settings", daemonWide, config.Supervision{}, config.Supervision{HealthInterval: 200 * time.Millisecond,
			HealthTimeout: 100 * time.Millisecond, HealthFailures: 2, MaxCrashes: 4, CrashWindow: 30 * time.Second,
			BackoffMax: 2 * time.Second, DrainTimeout: 5 * time.Second}},
		{"ok/plugin-overrides-defaults", Options{}, own, own},
		{"ok/plugin-overrides-daemon-wide", daemonWide, own, own},
		{"ok/partial-override", Options{}, config.Supervision{MaxCrashes: 2, CrashWindow: time.Second}, config.Supervision{
			HealthInterval: time.Second, HealthTimeout: time.Second, HealthFailures: 3, MaxCrashes: 2, CrashWindow: time.Second,
			BackoffMax: 10 * time.Second, DrainTimeout: 10 * time.Second}},
		{"ok/negative-takes-default", Options{}, config.Supervision{HealthInterval: -1, HealthFailures: -1, MaxCrashes: -3}, defaults},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testSupervisor(t, tc.opts)
			m := addManaged(s, "p")
			m.spec.Store(&config.Plugin{Name: "p", Supervision: tc.plugin})
			if got := m.knobs(); got != tc.want {
				t.Fatalf("knobs() =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
	t.Run("ok/follows-reloaded-spec", func(t *testing.T) {
		s := testSupervisor(t, Options{})
		m := addManaged(s, "p")
		m.spec.Store(&config.Plugin{Name: "p", Supervision: config.Supervision{MaxCrashes: 2}})
		if m.knobs().MaxCrashes != 2 {
			t.Fatal("knobs ignore the current spec")
		}
		m.spec.Store(&config.Plugin{Name: "p"})
		if m.knobs().MaxCrashes != 5 {
			t.Fatal("knobs kept a stale spec")
		}
	})
}

func TestStatusAndDirectory(t *testing.T) {
	s := testSupervisor(t, Options{})
	run := addManaged(s, "run")
	down := addManaged(s, "down")
	down.setStatus(StatusRestarting, "plugin exited")
	down.setStatus(StatusRestarting, "") // keeps the last error

	tests := []struct {
		name   string
		plugin string
		wantOK bool
	}{
		{"ok/running", "run", true},
		{"fail/restarting", "down", false},
		{"fail/unknown", "nobody", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pool, ok := s.PeerPool(tc.plugin)
			if ok != tc.wantOK || (ok && pool != run.Upstream()) {
				t.Fatalf("PeerPool(%q) = %v %v", tc.plugin, pool, ok)
			}
		})
	}
	t.Run("ok/info-without-instance", func(t *testing.T) {
		info := down.Info()
		if info.Name != "down" || info.Status != StatusRestarting || info.LastError != "plugin exited" || info.PID != 0 || info.Listen != down.Addr() {
			t.Fatalf("Info = %+v", info)
		}
	})
	t.Run("ok/plugins-in-order", func(t *testing.T) {
		ps := s.Plugins()
		if len(ps) != 2 || ps[0] != run || ps[1] != down {
			t.Fatalf("Plugins = %v", ps)
		}
		if m, ok := s.Get("run"); !ok || m != run {
			t.Fatal("Get(run)")
		}
		if _, ok := s.Get("nobody"); ok {
			t.Fatal("Get(nobody) found something")
		}
	})
	t.Run("ok/remove", func(t *testing.T) {
		addManaged(s, "gone")
		s.remove("gone")
		if _, ok := s.Get("gone"); ok || len(s.Plugins()) != 2 {
			t.Fatal("remove left the plugin behind")
		}
	})
}

func TestStartAndReloadErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("ok/no-plugins", func(t *testing.T) {
		s := testSupervisor(t, Options{})
		if err := s.Start(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if len(s.Routes()) != 0 || len(s.Plugins()) != 0 || len(s.Topology()) != 0 {
			t.Fatal("an empty supervisor has routes or plugins")
		}
		if _, _, ok := s.Match("/x"); ok {
			t.Fatal("Match found a plugin")
		}
		changes, err := s.Reload(ctx, nil)
		if err != nil || len(changes) != 0 {
			t.Fatalf("Reload(nil) = %v, %v", changes, err)
		}
		s.Shutdown(ctx)
	})
	t.Run("fail/listen-address", func(t *testing.T) {
		s := testSupervisor(t, Options{})
		err := s.Start(ctx, []config.Plugin{{Name: "p", Command: "/nonexistent", Listen: "256.0.0.1:0"}})
		if !errors.Is(err, ErrListen) {
			t.Fatalf("err = %v, want ErrListen", err)
		}
	})
	t.Run("fail/launch-releases-the-socket", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		s := testSupervisor(t, Options{StartTimeout: 5 * time.Second})
		err = s.Start(ctx, []config.Plugin{{Name: "p", Command: filepath.Join(t.TempDir(), "missing"), Listen: addr}})
		if !errors.Is(err, pluginhost.ErrLaunch) {
			t.Fatalf("err = %v, want pluginhost.ErrLaunch", err)
		}
		ln2, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the plugin socket was not closed after the failed start: %v", err)
		}
		ln2.Close()
	})
	t.Run("fail/reload-unknown-plugin", func(t *testing.T) {
		s := testSupervisor(t, Options{})
		ch, err := s.ReloadPlugin(ctx, config.Plugin{Name: "nobody"})
		if !errors.Is(err, ErrUnknownPlugin) || ch.Name != "nobody" {
			t.Fatalf("ReloadPlugin = %+v, %v", ch, err)
		}
	})
	t.Run("fail/reload-changes-listen", func(t *testing.T) {
		s := testSupervisor(t, Options{})
		addManaged(s, "p", "/p/")
		ch, err := s.ReloadPlugin(ctx, config.Plugin{Name: "p", Listen: "127.0.0.1:2"})
		if !errors.Is(err, ErrReload) || ch.Action != "rolled_back" || ch.OldVersion != "1.0.0" || ch.Error == "" {
			t.Fatalf("ReloadPlugin = %+v, %v", ch, err)
		}
		changes, err := s.Reload(ctx, []config.Plugin{{Name: "p", Listen: "127.0.0.1:3"}})
		if !errors.Is(err, ErrReload) || len(changes) != 1 || changes[0].Action != "rolled_back" {
			t.Fatalf("Reload = %+v, %v", changes, err)
		}
	})
}

// The gateway speaks frames only to a process that reported the
// capability, and only over the unix socket.
func TestUpstreamProtocolNegotiated(t *testing.T) {
	m := &Managed{name: "p", addr: "127.0.0.1:1", localPath: "/run/p.sock"}
	framed := &instance{desc: plugin.Descriptor{Capabilities: []string{"x", plugin.WireCapability}}}
	plain := &instance{desc: plugin.Descriptor{Capabilities: []string{"x"}}}
	for _, c := range []struct {
		name      string
		inst      *instance
		localPath string
		network   string
		wire      bool
	}{
		{"capability", framed, "/run/p.sock", "unix", true},
		{"no capability", plain, "/run/p.sock", "unix", false},
		{"no process", nil, "/run/p.sock", "unix", false},
		{"no unix socket", framed, "", "tcp", false},
	} {
		m.localPath = c.localPath
		p := m.newUpstream(c.inst)
		if network, _ := p.Addr(); network != c.network || p.Wire() != c.wire {
			t.Errorf("%s: %s wire=%v, want %s wire=%v", c.name, network, p.Wire(), c.network, c.wire)
		}
	}
}
