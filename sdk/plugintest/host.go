package plugintest

import (
	"context"
	"crypto/ed25519"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aunsorm/aunsorm/sdk/clock"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/pluginhost"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// AuthorityID names the test clock authority in its snapshots.
const AuthorityID = "plugintest"

// maxSeedBytes is the most one Entropy call hands out, as in the daemon.
const maxSeedBytes = 256

// authority is a real Ed25519 clock authority: it signs a snapshot every
// refresh interval while running and pushes it to every watcher.
type authority struct {
	key     ed25519.PrivateKey
	refresh time.Duration

	mu      sync.Mutex
	cur     clock.Snapshot
	stopped bool
	subs    map[chan clock.Snapshot]struct{}

	quit chan struct{}
	done chan struct{}
}

// newAuthority signs a first snapshot and starts the refresh loop.
func newAuthority(key ed25519.PrivateKey, maxAge time.Duration) (*authority, error) {
	a := &authority{key: key, refresh: max(maxAge/4, time.Millisecond),
		subs: map[chan clock.Snapshot]struct{}{}, quit: make(chan struct{}), done: make(chan struct{})}
	if err := a.sign(); err != nil {
		return nil, err
	}
	go a.loop()
	return a, nil
}

func (a *authority) loop() {
	defer close(a.done)
	t := time.NewTicker(a.refresh)
	defer t.Stop()
	for {
		select {
		case <-a.quit:
			return
		case <-t.C:
			a.mu.Lock()
			stopped := a.stopped
			a.mu.Unlock()
			if !stopped {
				_ = a.sign() // only a malformed id fails, and AuthorityID is fixed
			}
		}
	}
}

// sign signs the current time (never earlier than the last snapshot) and
// broadcasts it.
func (a *authority) sign() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ms := max(time.Now().UnixMilli(), a.cur.UnixTimeMs)
	s, err := clock.Sign(clock.Snapshot{AuthorityID: AuthorityID, UnixTimeMs: ms, Stratum: 16}, a.key)
	if err != nil {
		return err
	}
	a.cur = s
	for ch := range a.subs {
		// Keep only the newest snapshot for a slow watcher.
		select {
		case <-ch:
		default:
		}
		ch <- s
	}
	return nil
}

// setStopped stops or resumes signing; resuming signs at once.
func (a *authority) setStopped(stopped bool) {
	a.mu.Lock()
	a.stopped = stopped
	a.mu.Unlock()
	if !stopped {
		_ = a.sign()
	}
}

func (a *authority) current() clock.Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cur
}

// subscribe returns a channel holding the current snapshot and then every
// new one, and its cancel function.
func (a *authority) subscribe() (<-chan clock.Snapshot, func()) {
	ch := make(chan clock.Snapshot, 1)
	a.mu.Lock()
	ch <- a.cur
	a.subs[ch] = struct{}{}
	a.mu.Unlock()
	return ch, func() {
		a.mu.Lock()
		delete(a.subs, ch)
		a.mu.Unlock()
	}
}

func (a *authority) close() {
	close(a.quit)
	<-a.done
}

// testHost is the Host service the harness serves to its one plugin.
type testHost struct {
	pluginv1.UnimplementedHostServer

	rand     io.Reader
	clock    *authority
	audit    *auditLog
	declared atomic.Pointer[[]string]
	// topology is filled in once the plugin is launched.
	topology atomic.Pointer[pluginv1.PluginInfo]
}

var _ pluginv1.HostServer = (*testHost)(nil)

// allow refuses services the plugin did not declare, as the daemon does.
func (h *testHost) allow(service string) error {
	if service == plugin.ServiceEntropy || service == plugin.ServiceAttestation {
		return nil
	}
	if d := h.declared.Load(); d != nil && slices.Contains(*d, service) {
		return nil
	}
	return status.Errorf(codes.PermissionDenied, "plugintest: the plugin did not declare the %s host service", service)
}

// Entropy implements pluginv1.HostServer.
func (h *testHost) Entropy(_ context.Context, req *pluginv1.EntropyRequest) (*pluginv1.EntropyResponse, error) {
	if req.Bytes == 0 || req.Bytes > maxSeedBytes {
		return nil, status.Errorf(codes.InvalidArgument, "plugintest: seed size must be 1..%d bytes", maxSeedBytes)
	}
	seed := make([]byte, req.Bytes)
	if _, err := io.ReadFull(h.rand, seed); err != nil {
		return nil, status.Error(codes.Unavailable, "plugintest: entropy source unavailable")
	}
	return &pluginv1.EntropyResponse{Seed: seed}, nil
}

// Attestation implements pluginv1.HostServer.
func (h *testHost) Attestation(context.Context, *pluginv1.AttestationRequest) (*pluginv1.ClockSnapshot, error) {
	return pluginhost.SnapshotToProto(h.clock.current()), nil
}

// WatchAttestation implements pluginv1.HostServer.
func (h *testHost) WatchAttestation(_ *pluginv1.AttestationRequest, stream pluginv1.Host_WatchAttestationServer) error {
	ch, cancel := h.clock.subscribe()
	defer cancel()
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case s := <-ch:
			if err := stream.Send(pluginhost.SnapshotToProto(s)); err != nil {
				return err
			}
		}
	}
}

// Audit implements pluginv1.HostServer.
func (h *testHost) Audit(_ context.Context, req *pluginv1.AuditRequest) (*pluginv1.AuditResponse, error) {
	if err := h.allow(plugin.ServiceAudit); err != nil {
		return nil, err
	}
	rec, err := h.audit.append(req.Action, req.Subject, req.Outcome, req.DetailsJson)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &pluginv1.AuditResponse{Sequence: rec.Sequence, HashHex: rec.HashHex}, nil
}

// Peer implements pluginv1.HostServer: no other plugin runs in the harness.
func (h *testHost) Peer(_ context.Context, req *pluginv1.PeerRequest) (*pluginv1.PeerResponse, error) {
	if err := h.allow(plugin.ServicePeer); err != nil {
		return nil, err
	}
	return nil, status.Errorf(codes.Unavailable, "plugintest: plugin %q is not running (the harness runs no peers)", req.Plugin)
}

// Topology implements pluginv1.HostServer: only the plugin under test.
func (h *testHost) Topology(context.Context, *pluginv1.TopologyRequest) (*pluginv1.TopologyResponse, error) {
	if err := h.allow(plugin.ServiceTopology); err != nil {
		return nil, err
	}
	resp := &pluginv1.TopologyResponse{}
	if p := h.topology.Load(); p != nil {
		resp.Plugins = append(resp.Plugins, p)
	}
	return resp, nil
}
