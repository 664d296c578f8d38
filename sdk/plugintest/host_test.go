package plugintest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aunsorm/aunsorm/sdk/clock"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

func newTestHost(t *testing.T, declared ...string) (*testHost, ed25519.PublicKey) {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	a, err := newAuthority(key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	h := &testHost{rand: bytes.NewReader(make([]byte, 1024)), clock: a, audit: &auditLog{}}
	h.declared.Store(&declared)
	h.topology.Store(&pluginv1.PluginInfo{Name: "echo", Kind: "echo"})
	return h, key.Public().(ed25519.PublicKey)
}

func TestTestHostServices(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		declared []string
		call     func(h *testHost) error
		wantCode codes.Code
	}{
		{"ok/entropy", nil, func(h *testHost) error {
			_, err := h.Entropy(ctx, &pluginv1.EntropyRequest{Bytes: 48})
			return err
		}, codes.OK},
		{"fail/entropy_size", nil, func(h *testHost) error {
			_, err := h.Entropy(ctx, &pluginv1.EntropyRequest{Bytes: maxSeedBytes + 1})
			return err
		}, codes.InvalidArgument},
		{"ok/attestation_undeclared", nil, func(h *testHost) error {
			_, err := h.Attestation(ctx, &pluginv1.AttestationRequest{})
			return err
		}, codes.OK},
		{"ok/audit", []string{plugin.ServiceAudit}, func(h *testHost) error {
			_, err := h.Audit(ctx, &pluginv1.AuditRequest{Action: "a"})
			return err
		}, codes.OK},
		{"fail/audit_undeclared", nil, func(h *testHost) error {
			_, err := h.Audit(ctx, &pluginv1.AuditRequest{Action: "a"})
			return err
		}, codes.PermissionDenied},
		{"fail/audit_invalid", []string{plugin.ServiceAudit}, func(h *testHost) error {
			_, err := h.Audit(ctx, &pluginv1.AuditRequest{Action: "a", DetailsJson: []byte("[]")})
			return err
		}, codes.InvalidArgument},
		{"fail/peer_unavailable", []string{plugin.ServicePeer}, func(h *testHost) error {
			_, err := h.Peer(ctx, &pluginv1.PeerRequest{Plugin: "kms", Path: "/kms/keys"})
			return err
		}, codes.Unavailable},
		{"fail/peer_undeclared", []string{plugin.ServiceAudit}, func(h *testHost) error {
			_, err := h.Peer(ctx, &pluginv1.PeerRequest{Plugin: "kms", Path: "/kms/keys"})
			return err
		}, codes.PermissionDenied},
		{"ok/topology", []string{plugin.ServiceTopology}, func(h *testHost) error {
			resp, err := h.Topology(ctx, &pluginv1.TopologyRequest{})
			if err == nil && (len(resp.Plugins) != 1 || resp.Plugins[0].Name != "echo") {
				return status.Error(codes.Internal, "topology does not list the plugin")
			}
			return err
		}, codes.OK},
		{"fail/topology_undeclared", nil, func(h *testHost) error {
			_, err := h.Topology(ctx, &pluginv1.TopologyRequest{})
			return err
		}, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHost(t, tt.declared...)
			if got := status.Code(tt.call(h)); got != tt.wantCode {
				t.Fatalf("code %v, want %v", got, tt.wantCode)
			}
		})
	}
}

func TestAuthoritySignsAndStops(t *testing.T) {
	h, pub := newTestHost(t)
	tr := clock.NewTracker(pub, time.Hour)
	ch, cancel := h.clock.subscribe()
	defer cancel()
	first := <-ch
	if err := tr.Update(first); err != nil {
		t.Fatalf("first snapshot: %v", err)
	}
	if first.AuthorityID != AuthorityID || first.AuthorityFingerprintHex != clock.Fingerprint(pub) {
		t.Fatalf("snapshot %+v", first)
	}
	h.clock.setStopped(true) // as Harness.StopClock
	if got := h.clock.current(); got != first {
		t.Fatalf("stopped authority changed its snapshot: %+v", got)
	}
	// Resuming signs at once and pushes to watchers.
	h.clock.setStopped(false) // as Harness.ResumeClock
	next := <-ch
	if err := tr.Update(next); err != nil || next.UnixTimeMs < first.UnixTimeMs {
		t.Fatalf("resumed snapshot %+v: %v", next, err)
	}
}

func TestTestHostUnavailable(t *testing.T) {
	ctx := context.Background()
	all := []string{plugin.ServiceAudit, plugin.ServicePeer, plugin.ServiceTopology}
	calls := map[string]func(h *testHost) error{
		plugin.ServiceAudit: func(h *testHost) error {
			_, err := h.Audit(ctx, &pluginv1.AuditRequest{Action: "a"})
			return err
		},
		plugin.ServicePeer: func(h *testHost) error {
			_, err := h.Peer(ctx, &pluginv1.PeerRequest{Plugin: "kms", Path: "/kms/keys"})
			return err
		},
		plugin.ServiceTopology: func(h *testHost) error {
			_, err := h.Topology(ctx, &pluginv1.TopologyRequest{})
			return err
		},
	}
	tests := []struct {
		name string
		down string
		want map[string]codes.Code
	}{
		{"fail/audit", plugin.ServiceAudit, map[string]codes.Code{plugin.ServiceAudit: codes.Internal, plugin.ServicePeer: codes.Unavailable, plugin.ServiceTopology: codes.OK}},
		{"fail/peer", plugin.ServicePeer, map[string]codes.Code{plugin.ServiceAudit: codes.OK, plugin.ServicePeer: codes.Unavailable, plugin.ServiceTopology: codes.OK}},
		{"fail/topology", plugin.ServiceTopology, map[string]codes.Code{plugin.ServiceAudit: codes.OK, plugin.ServicePeer: codes.Unavailable, plugin.ServiceTopology: codes.Unavailable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHost(t, all...)
			h.unavailable.Store(&map[string]bool{tt.down: true})
			before := len(h.audit.snapshot())
			for svc, call := range calls {
				if got := status.Code(call(h)); got != tt.want[svc] {
					t.Errorf("%s: code %v, want %v", svc, got, tt.want[svc])
				}
			}
			if tt.down == plugin.ServiceAudit && len(h.audit.snapshot()) != before {
				t.Error("an unavailable audit service recorded the event")
			}
		})
	}
}
