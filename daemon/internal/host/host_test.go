package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aunsorm/aunsorm/daemon/internal/attest"
	"github.com/aunsorm/aunsorm/daemon/internal/audit"
	"github.com/aunsorm/aunsorm/daemon/internal/upstream"
	"github.com/aunsorm/aunsorm/sdk/clock"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// fakeDirectory resolves peers from a fixed table.
type fakeDirectory struct {
	addrs map[string]string
	topo  []*pluginv1.PluginInfo
}

func (d *fakeDirectory) PeerPool(name string) (*upstream.Pool, bool) {
	a, ok := d.addrs[name]
	if !ok {
		return nil, false
	}
	return upstream.New("tcp", a, upstream.Options{}), true
}

func (d *fakeDirectory) Topology() []*pluginv1.PluginInfo { return d.topo }

var _ Directory = (*fakeDirectory)(nil)

// failReader is an entropy source that always fails.
type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

// newAuthority starts a local authority in a temporary directory.
func newAuthority(t *testing.T, id string, maxAge time.Duration) *attest.Authority {
	t.Helper()
	a, err := attest.NewLocal(zerolog.Nop(), attest.LocalConfig{Dir: t.TempDir(), ID: id, MaxAge: maxAge, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// newServices returns services with a real authority and audit log.
func newServices(t *testing.T, dir *fakeDirectory) *Services {
	t.Helper()
	log, err := audit.Open(context.Background(), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	if dir == nil {
		dir = &fakeDirectory{}
	}
	return New(Services{Rand: rand.Reader, Authority: newAuthority(t, "host-test", time.Minute), Audit: log,
		Directory: dir, Log: zerolog.Nop()})
}

// wantCode fails unless err is a gRPC status with code want.
func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code %v (%v), want %v", got, err, want)
	}
}

func TestBindingPermissions(t *testing.T) {
	s := newServices(t, &fakeDirectory{topo: []*pluginv1.PluginInfo{{Name: "crypto", Status: "running"}}})
	ctx := context.Background()
	calls := map[string]func(b *Binding) error{
		plugin.ServiceAudit: func(b *Binding) error {
			_, err := b.Audit(ctx, &pluginv1.AuditRequest{Action: "key.rotate", Outcome: "ok"})
			return err
		},
		plugin.ServicePeer: func(b *Binding) error {
			_, err := b.Peer(ctx, &pluginv1.PeerRequest{Plugin: "nobody", Path: "/"})
			return err
		},
		plugin.ServiceTopology: func(b *Binding) error {
			_, err := b.Topology(ctx, &pluginv1.TopologyRequest{})
			return err
		},
		plugin.ServiceEntropy: func(b *Binding) error {
			_, err := b.Entropy(ctx, &pluginv1.EntropyRequest{Bytes: 32})
			return err
		},
		plugin.ServiceAttestation: func(b *Binding) error {
			_, err := b.Attestation(ctx, &pluginv1.AttestationRequest{})
			return err
		},
	}
	// The peer call passes the permission check and fails on the unknown
	// plugin: Unavailable means "allowed".
	allowed := map[string]codes.Code{plugin.ServicePeer: codes.Unavailable}
	tests := []struct {
		name     string
		declared []string // nil: Declare not called
		allow    []string
	}{
		{"ok/undeclared-entropy-and-attestation", nil, []string{plugin.ServiceEntropy, plugin.ServiceAttestation}},
		{"ok/declared-audit", []string{plugin.ServiceAudit}, []string{plugin.ServiceEntropy, plugin.ServiceAttestation, plugin.ServiceAudit}},
		{"ok/declared-peer", []string{plugin.ServicePeer}, []string{plugin.ServiceEntropy, plugin.ServiceAttestation, plugin.ServicePeer}},
		{"ok/declared-topology", []string{plugin.ServiceTopology}, []string{plugin.ServiceEntropy, plugin.ServiceAttestation, plugin.ServiceTopology}},
		{"ok/declared-all", []string{plugin.ServiceAudit, plugin.ServicePeer, plugin.ServiceTopology}, []string{plugin.ServiceEntropy,
			plugin.ServiceAttestation, plugin.ServiceAudit, plugin.ServicePeer, plugin.ServiceTopology}},
		{"fail/declared-empty", []string{}, []string{plugin.ServiceEntropy, plugin.ServiceAttestation}},
		{"fail/declared-unknown-name", []string{"Audit", "peers"}, []string{plugin.ServiceEntropy, plugin.ServiceAttestation}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := s.Bind("alice")
			if tc.declared != nil {
				b.Declare(tc.declared)
			}
			for svc, call := range calls {
				err := call(b)
				isAllowed := false
				for _, a := range tc.allow {
					isAllowed = isAllowed || a == svc
				}
				switch {
				case !isAllowed:
					wantCode(t, err, codes.PermissionDenied)
				default:
					wantCode(t, err, allowed[svc]) // codes.OK unless listed
				}
			}
		})
	}

	t.Run("ok/declare-copies-the-slice", func(t *testing.T) {
		b := s.Bind("alice")
		decl := []string{plugin.ServiceTopology}
		b.Declare(decl)
		decl[0] = plugin.ServiceAudit
		wantCode(t, calls[plugin.ServiceAudit](b), codes.PermissionDenied)
		resp, err := b.Topology(ctx, &pluginv1.TopologyRequest{})
		if err != nil || len(resp.Plugins) != 1 || resp.Plugins[0].Name != "crypto" {
			t.Fatalf("Topology = %v, %v", resp, err)
		}
	})
	t.Run("ok/redeclare-replaces", func(t *testing.T) {
		b := s.Bind("alice")
		b.Declare([]string{plugin.ServiceAudit})
		b.Declare([]string{plugin.ServiceTopology})
		wantCode(t, calls[plugin.ServiceAudit](b), codes.PermissionDenied)
		wantCode(t, calls[plugin.ServiceTopology](b), codes.OK)
	})
	t.Run("ok/bindings-are-independent", func(t *testing.T) {
		a, b := s.Bind("alice"), s.Bind("bob")
		a.Declare([]string{plugin.ServiceTopology})
		wantCode(t, calls[plugin.ServiceTopology](a), codes.OK)
		wantCode(t, calls[plugin.ServiceTopology](b), codes.PermissionDenied)
	})
}

func TestEntropy(t *testing.T) {
	s := newServices(t, nil)
	tests := []struct {
		name  string
		bytes uint32
		rand  io.Reader
		want  codes.Code
	}{
		{"ok/one-byte", 1, nil, codes.OK},
		{"ok/32-bytes", 32, nil, codes.OK},
		{"ok/max", maxSeedBytes, nil, codes.OK},
		{"fail/zero", 0, nil, codes.InvalidArgument},
		{"fail/over-max", maxSeedBytes + 1, nil, codes.InvalidArgument},
		{"fail/huge", 1 << 31, nil, codes.InvalidArgument},
		{"fail/source-broken", 32, failReader{}, codes.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := s
			if tc.rand != nil {
				c := *s
				c.Rand = tc.rand
				svc = &c
			}
			resp, err := svc.Bind("alice").Entropy(context.Background(), &pluginv1.EntropyRequest{Bytes: tc.bytes})
			wantCode(t, err, tc.want)
			if tc.want == codes.OK && len(resp.Seed) != int(tc.bytes) {
				t.Fatalf("seed of %d bytes, want %d", len(resp.Seed), tc.bytes)
			}
		})
	}
	t.Run("ok/seeds-differ", func(t *testing.T) {
		b := s.Bind("alice")
		r1, err1 := b.Entropy(context.Background(), &pluginv1.EntropyRequest{Bytes: 32})
		r2, err2 := b.Entropy(context.Background(), &pluginv1.EntropyRequest{Bytes: 32})
		if err1 != nil || err2 != nil || bytes.Equal(r1.Seed, r2.Seed) {
			t.Fatal("two seeds are equal")
		}
	})
}

// protoSnapshot converts back for verification.
func protoSnapshot(p *pluginv1.ClockSnapshot) clock.Snapshot {
	return clock.Snapshot{AuthorityID: p.AuthorityId, AuthorityFingerprintHex: p.AuthorityFingerprintHex,
		UnixTimeMs: p.UnixTimeMs, Stratum: p.Stratum, RoundTripMs: p.RoundTripMs, DispersionMs: p.DispersionMs,
		EstimatedOffsetMs: p.EstimatedOffsetMs, SignatureB64: p.SignatureB64}
}

func TestAttestation(t *testing.T) {
	s := newServices(t, nil)
	pub := s.Authority.PublicKey()
	t.Run("ok/current-snapshot", func(t *testing.T) {
		p, err := s.Bind("alice").Attestation(context.Background(), &pluginv1.AttestationRequest{})
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := s.Authority.Current()
		snap := protoSnapshot(p)
		if snap != doc.Snapshot {
			t.Fatalf("Attestation = %+v, want %+v", snap, doc.Snapshot)
		}
		if err := clock.Verify(&snap, pub); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("fail/no-snapshot-yet", func(t *testing.T) {
		c := *s
		c.Authority = newAuthority(t, "not a valid id", time.Minute) // signs nothing
		_, err := c.Bind("alice").Attestation(context.Background(), &pluginv1.AttestationRequest{})
		wantCode(t, err, codes.Unavailable)
	})
}

// fakeWatchStream is the server side of a WatchAttestation stream.
type fakeWatchStream struct {
	grpc.ServerStream // nil: only Context and Send are used
	ctx               context.Context
	sent              chan *pluginv1.ClockSnapshot
	err               error
}

func (f *fakeWatchStream) Context() context.Context { return f.ctx }

func (f *fakeWatchStream) Send(s *pluginv1.ClockSnapshot) error {
	if f.err != nil {
		return f.err
	}
	f.sent <- s
	return nil
}

var _ pluginv1.Host_WatchAttestationServer = (*fakeWatchStream)(nil)

func TestWatchAttestation(t *testing.T) {
	s := newServices(t, nil)
	s.Authority = newAuthority(t, "host-test", 400*time.Millisecond) // refresh every 100 ms
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	go s.Authority.Run(runCtx)
	pub := s.Authority.PublicKey()

	t.Run("ok/current-then-new-until-cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		stream := &fakeWatchStream{ctx: ctx, sent: make(chan *pluginv1.ClockSnapshot, 1)}
		done := make(chan error, 1)
		go func() { done <- s.Bind("alice").WatchAttestation(&pluginv1.AttestationRequest{}, stream) }()
		var last int64
		for i := 0; i < 3; i++ {
			select {
			case p := <-stream.sent:
				snap := protoSnapshot(p)
				if err := clock.Verify(&snap, pub); err != nil {
					t.Fatal(err)
				}
				if snap.UnixTimeMs < last {
					t.Fatalf("snapshot %d older than the previous %d", snap.UnixTimeMs, last)
				}
				last = snap.UnixTimeMs
			case <-time.After(10 * time.Second):
				t.Fatalf("snapshot %d never streamed", i+1)
			}
		}
		cancel()
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("WatchAttestation = %v after cancel, want nil", err)
				}
				return
			case <-stream.sent: // drain a send racing the cancel
			case <-time.After(10 * time.Second):
				t.Fatal("WatchAttestation did not return after the stream ended")
			}
		}
	})
	t.Run("fail/send-error-ends-stream", func(t *testing.T) {
		sendErr := status.Error(codes.Unavailable, "transport closing")
		stream := &fakeWatchStream{ctx: context.Background(), err: sendErr}
		done := make(chan error, 1)
		go func() { done <- s.Bind("alice").WatchAttestation(&pluginv1.AttestationRequest{}, stream) }()
		select {
		case err := <-done:
			if !errors.Is(err, sendErr) {
				t.Fatalf("WatchAttestation = %v, want the send error", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("WatchAttestation did not return on a send error")
		}
	})
}

func TestAudit(t *testing.T) {
	s := newServices(t, nil)
	b := s.Bind("alice")
	b.Declare([]string{plugin.ServiceAudit})
	tests := []struct {
		name string
		req  *pluginv1.AuditRequest
		want codes.Code
	}{
		{"ok/minimal", &pluginv1.AuditRequest{Action: "key.rotate"}, codes.OK},
		{"ok/with-details", &pluginv1.AuditRequest{Action: "key.rotate", Subject: "k1", Outcome: "ok", DetailsJson: []byte(`{"alg":"Ed25519"}`)}, codes.OK},
		{"fail/empty-action", &pluginv1.AuditRequest{Subject: "k1"}, codes.InvalidArgument},
		{"fail/action-with-newline", &pluginv1.AuditRequest{Action: "a\nb"}, codes.InvalidArgument},
		{"fail/long-subject", &pluginv1.AuditRequest{Action: "x", Subject: strings.Repeat("s", audit.MaxTextLen+1)}, codes.InvalidArgument},
		{"fail/details-not-json", &pluginv1.AuditRequest{Action: "x", DetailsJson: []byte(`{"a":`)}, codes.InvalidArgument},
		{"fail/details-not-object", &pluginv1.AuditRequest{Action: "x", DetailsJson: []byte(`[1,2]`)}, codes.InvalidArgument},
		{"fail/details-too-long", &pluginv1.AuditRequest{Action: "x", DetailsJson: []byte(`{"a":"` + strings.Repeat("a", audit.MaxDetailsLen) + `"}`)}, codes.InvalidArgument},
	}
	var seq uint64
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := b.Audit(context.Background(), tc.req)
			wantCode(t, err, tc.want)
			if tc.want != codes.OK {
				return
			}
			seq++
			if resp.Sequence != seq || len(resp.HashHex) != 64 {
				t.Fatalf("response %+v, want sequence %d and a 64-hex hash", resp, seq)
			}
		})
	}
	t.Run("ok/source-is-the-binding-name", func(t *testing.T) {
		recs, err := s.Audit.List(context.Background(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != int(seq) {
			t.Fatalf("%d records stored, want %d (invalid events must write nothing)", len(recs), seq)
		}
		for _, r := range recs {
			if r.Source != "alice" {
				t.Fatalf("record source %q, want the calling plugin", r.Source)
			}
		}
	})
	t.Run("fail/cancelled-context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := b.Audit(ctx, &pluginv1.AuditRequest{Action: "key.rotate"})
		wantCode(t, err, codes.Canceled)
	})
	t.Run("fail/closed-log-is-internal", func(t *testing.T) {
		log, err := audit.Open(context.Background(), filepath.Join(t.TempDir(), "audit.db"))
		if err != nil {
			t.Fatal(err)
		}
		log.Close()
		c := *s
		c.Audit = log
		cb := c.Bind("alice")
		cb.Declare([]string{plugin.ServiceAudit})
		_, err = cb.Audit(context.Background(), &pluginv1.AuditRequest{Action: "key.rotate"})
		wantCode(t, err, codes.Internal)
		if strings.Contains(err.Error(), "sql") || strings.Contains(err.Error(), "closed") {
			t.Fatalf("internal error leaks detail: %v", err)
		}
	})
}

// peerEcho is a plugin listener answering with what it received.
type peerEcho struct {
	Method, Path, Caller, Custom string
	BodyLen                      int
}

func startPeer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/big":
			_, _ = w.Write(make([]byte, maxPeerBody+1))
			return
		case "/exact":
			_, _ = w.Write(make([]byte, maxPeerBody))
			return
		}
		w.Header().Set("X-Echo", "1")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(peerEcho{Method: r.Method, Path: r.URL.RequestURI(), Caller: r.Header.Get(plugin.CallerHeader),
			Custom: r.Header.Get("X-Custom"), BodyLen: len(body)})
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// closedAddr is a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestPeer(t *testing.T) {
	dir := &fakeDirectory{addrs: map[string]string{"bob": startPeer(t), "alice": startPeer(t), "dead": closedAddr(t)}}
	s := newServices(t, dir)
	b := s.Bind("alice")
	b.Declare([]string{plugin.ServicePeer})
	tests := []struct {
		name    string
		req     *pluginv1.PeerRequest
		want    codes.Code
		echo    peerEcho // checked when Path is set
		bodyLen int      // checked for non-echo paths
	}{
		{"ok/get-by-default", &pluginv1.PeerRequest{Plugin: "bob", Path: "/jwks?x=1"}, codes.OK,
			peerEcho{Method: "GET", Path: "/jwks?x=1", Caller: "alice"}, 0},
		{"ok/post-with-body-and-headers", &pluginv1.PeerRequest{Plugin: "bob", Method: "POST", Path: "/sign",
			Headers: map[string]string{"X-Custom": "v"}, Body: []byte("hello")}, codes.OK,
			peerEcho{Method: "POST", Path: "/sign", Caller: "alice", Custom: "v", BodyLen: 5}, 0},
		{"ok/caller-header-cannot-be-spoofed", &pluginv1.PeerRequest{Plugin: "bob", Path: "/",
			Headers: map[string]string{plugin.CallerHeader: "admin", "x-aunsorm-caller": "admin"}}, codes.OK,
			peerEcho{Method: "GET", Path: "/", Caller: "alice"}, 0},
		{"ok/body-at-limit", &pluginv1.PeerRequest{Plugin: "bob", Method: "PUT", Path: "/", Body: make([]byte, maxPeerBody)}, codes.OK,
			peerEcho{Method: "PUT", Path: "/", Caller: "alice", BodyLen: maxPeerBody}, 0},
		{"ok/response-at-limit", &pluginv1.PeerRequest{Plugin: "bob", Path: "/exact"}, codes.OK, peerEcho{}, maxPeerBody},
		{"fail/calls-itself", &pluginv1.PeerRequest{Plugin: "alice", Path: "/"}, codes.InvalidArgument, peerEcho{}, 0},
		{"fail/unknown-plugin", &pluginv1.PeerRequest{Plugin: "carol", Path: "/"}, codes.Unavailable, peerEcho{}, 0},
		{"fail/plugin-down", &pluginv1.PeerRequest{Plugin: "dead", Path: "/"}, codes.Unavailable, peerEcho{}, 0},
		{"fail/relative-path", &pluginv1.PeerRequest{Plugin: "bob", Path: "jwks"}, codes.InvalidArgument, peerEcho{}, 0},
		{"fail/empty-path", &pluginv1.PeerRequest{Plugin: "bob"}, codes.InvalidArgument, peerEcho{}, 0},
		{"fail/body-over-limit", &pluginv1.PeerRequest{Plugin: "bob", Method: "POST", Path: "/", Body: make([]byte, maxPeerBody+1)}, codes.InvalidArgument, peerEcho{}, 0},
		{"fail/response-over-limit", &pluginv1.PeerRequest{Plugin: "bob", Path: "/big"}, codes.ResourceExhausted, peerEcho{}, 0},
		{"fail/bad-method", &pluginv1.PeerRequest{Plugin: "bob", Method: "GET X", Path: "/"}, codes.InvalidArgument, peerEcho{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := b.Peer(context.Background(), tc.req)
			wantCode(t, err, tc.want)
			if tc.want != codes.OK {
				return
			}
			if tc.echo.Path == "" {
				if resp.Status != http.StatusOK || len(resp.Body) != tc.bodyLen {
					t.Fatalf("status %d, %d bytes; want 200 and %d", resp.Status, len(resp.Body), tc.bodyLen)
				}
				return
			}
			if resp.Status != http.StatusCreated || resp.Headers["X-Echo"] != "1" {
				t.Fatalf("status %d headers %v", resp.Status, resp.Headers)
			}
			var got peerEcho
			if err := json.Unmarshal(resp.Body, &got); err != nil {
				t.Fatal(err)
			}
			if got != tc.echo {
				t.Fatalf("peer saw %+v, want %+v", got, tc.echo)
			}
		})
	}
}

// TestAuditStampedByLogClock: a plugin's audit record carries the time of
// the log's clock (the daemon's attested clock), not the host's local
// time.Now.
func TestAuditStampedByLogClock(t *testing.T) {
	attested := time.Date(2033, 3, 3, 3, 3, 3, 0, time.UTC)
	log, err := audit.Open(context.Background(), filepath.Join(t.TempDir(), "audit.db"), audit.WithClock(func() time.Time { return attested }))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	s := New(Services{Rand: rand.Reader, Authority: newAuthority(t, "host-test", time.Minute), Audit: log,
		Directory: &fakeDirectory{}, Log: zerolog.Nop()})
	b := s.Bind("alice")
	b.Declare([]string{plugin.ServiceAudit})
	if _, err := b.Audit(context.Background(), &pluginv1.AuditRequest{Action: "key.rotate"}); err != nil {
		t.Fatal(err)
	}
	recs, err := log.List(context.Background(), 0, 1)
	if err != nil || len(recs) != 1 || !recs[0].Time.Equal(attested) {
		t.Fatalf("records %+v, %v; want time %v", recs, err, attested)
	}
}
