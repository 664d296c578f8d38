// Package host implements the host services the daemon offers each plugin
// over go-plugin's broker: entropy (seeds from the daemon's
// AunsormNativeRng), clock attestation (snapshot and stream), the audit log,
// peer calls to other plugins and topology.
//
// Each plugin gets its own Binding, so the daemon always knows who is
// calling; a call to a service the plugin did not declare in Describe is
// refused with PermissionDenied.
package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aunsorm/aunsorm/daemon/internal/attest"
	"github.com/aunsorm/aunsorm/daemon/internal/audit"
	"github.com/aunsorm/aunsorm/daemon/internal/upstream"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/pluginhost"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// Limits on host service calls.
const (
	maxSeedBytes = 256
	maxPeerBody  = 4 << 20
	peerTimeout  = 30 * time.Second
)

// Directory resolves plugins for peer calls and topology; the supervisor
// implements it.
type Directory interface {
	// PeerPool returns the connection pool to a running plugin (the one
	// the gateway uses: its unix socket, framed when the plugin speaks it).
	PeerPool(name string) (*upstream.Pool, bool)
	// Topology lists the plugins.
	Topology() []*pluginv1.PluginInfo
}

// Services holds what every binding shares.
type Services struct {
	Rand      io.Reader
	Authority *attest.Authority
	Audit     *audit.Log
	Directory Directory
	Log       zerolog.Logger
}

// New returns the shared services.
func New(s Services) *Services {
	s.Log = s.Log.With().Str("component", "host").Logger()
	return &s
}

// Binding is the Host service as seen by one plugin.
type Binding struct {
	pluginv1.UnimplementedHostServer
	s        *Services
	name     string
	declared atomic.Pointer[[]string]
}

// Bind returns the Host service for the plugin instance name. Until Declare
// is called only entropy and attestation are allowed.
func (s *Services) Bind(name string) *Binding {
	return &Binding{s: s, name: name}
}

// Declare records the host services the plugin declared in Describe.
func (b *Binding) Declare(services []string) {
	c := slices.Clone(services)
	b.declared.Store(&c)
}

func (b *Binding) allow(service string) error {
	if service == plugin.ServiceEntropy || service == plugin.ServiceAttestation {
		return nil
	}
	if d := b.declared.Load(); d != nil && slices.Contains(*d, service) {
		return nil
	}
	b.s.Log.Warn().Str("plugin", b.name).Str("service", service).Msg("undeclared host service call refused")
	return status.Errorf(codes.PermissionDenied, "plugin %q did not declare the %s host service", b.name, service)
}

// Entropy implements pluginv1.HostServer.
func (b *Binding) Entropy(_ context.Context, req *pluginv1.EntropyRequest) (*pluginv1.EntropyResponse, error) {
	if req.Bytes == 0 || req.Bytes > maxSeedBytes {
		return nil, status.Errorf(codes.InvalidArgument, "seed size must be 1..%d bytes", maxSeedBytes)
	}
	seed := make([]byte, req.Bytes)
	if _, err := io.ReadFull(b.s.Rand, seed); err != nil {
		b.s.Log.Error().Err(err).Msg("entropy source failed")
		return nil, status.Error(codes.Unavailable, "entropy source unavailable")
	}
	return &pluginv1.EntropyResponse{Seed: seed}, nil
}

// Attestation implements pluginv1.HostServer.
func (b *Binding) Attestation(context.Context, *pluginv1.AttestationRequest) (*pluginv1.ClockSnapshot, error) {
	doc, ok := b.s.Authority.Current()
	if !ok {
		return nil, status.Error(codes.Unavailable, "no clock snapshot yet")
	}
	return pluginhost.SnapshotToProto(doc.Snapshot), nil
}

// WatchAttestation implements pluginv1.HostServer.
func (b *Binding) WatchAttestation(_ *pluginv1.AttestationRequest, stream pluginv1.Host_WatchAttestationServer) error {
	ch, cancel := b.s.Authority.Subscribe()
	defer cancel()
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case snap := <-ch:
			if err := stream.Send(pluginhost.SnapshotToProto(snap)); err != nil {
				return err
			}
		}
	}
}

// Audit implements pluginv1.HostServer.
func (b *Binding) Audit(ctx context.Context, req *pluginv1.AuditRequest) (*pluginv1.AuditResponse, error) {
	if err := b.allow(plugin.ServiceAudit); err != nil {
		return nil, err
	}
	// No Time: the log stamps the record with the daemon's attested clock.
	rec, err := b.s.Audit.Append(ctx, audit.Event{
		Source: b.name, Action: req.Action, Subject: req.Subject,
		Outcome: req.Outcome, Details: json.RawMessage(req.DetailsJson),
	})
	switch {
	case err == nil:
	case errors.Is(err, audit.ErrInvalidEvent):
		return nil, status.Errorf(codes.InvalidArgument, "audit: %v", err)
	case errors.Is(err, context.Canceled):
		return nil, status.Error(codes.Canceled, "audit: cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return nil, status.Error(codes.DeadlineExceeded, "audit: deadline exceeded")
	default:
		b.s.Log.Error().Err(err).Str("plugin", b.name).Msg("audit append failed")
		return nil, status.Error(codes.Internal, "audit: the event could not be stored")
	}
	return &pluginv1.AuditResponse{Sequence: rec.Seq, HashHex: fmt.Sprintf("%x", rec.Hash)}, nil
}

// Peer implements pluginv1.HostServer.
func (b *Binding) Peer(ctx context.Context, req *pluginv1.PeerRequest) (*pluginv1.PeerResponse, error) {
	if err := b.allow(plugin.ServicePeer); err != nil {
		return nil, err
	}
	if req.Plugin == b.name {
		return nil, status.Error(codes.InvalidArgument, "a plugin cannot call itself through the host")
	}
	pool, ok := b.s.Directory.PeerPool(req.Plugin)
	if !ok {
		return nil, status.Errorf(codes.Unavailable, "plugin %q is not running", req.Plugin)
	}
	if !strings.HasPrefix(req.Path, "/") || len(req.Body) > maxPeerBody {
		return nil, status.Error(codes.InvalidArgument, "peer path must start with '/' and the body be at most 4 MiB")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	h := make(http.Header, len(req.Headers)+1)
	for k, v := range req.Headers {
		h.Set(k, v)
	}
	h.Set(plugin.CallerHeader, b.name)
	deadline := time.Now().Add(peerTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	resp, err := pool.Do(ctx, &upstream.Request{Method: method, URI: req.Path, Host: req.Plugin, Header: h,
		Body: req.Body, Deadline: deadline, Scheme: "http"})
	if err != nil {
		var ue *upstream.Error
		if errors.As(err, &ue) && ue.Kind == upstream.KindRequest {
			return nil, status.Errorf(codes.InvalidArgument, "peer request: %v", err)
		}
		return nil, status.Errorf(codes.Unavailable, "peer %q: %v", req.Plugin, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPeerBody+1))
	if err != nil || len(body) > maxPeerBody {
		return nil, status.Errorf(codes.ResourceExhausted, "peer %q: response unreadable or over 4 MiB", req.Plugin)
	}
	out := &pluginv1.PeerResponse{Status: int32(resp.StatusCode), Headers: map[string]string{}, Body: body}
	for k := range resp.Header {
		out.Headers[k] = resp.Header.Get(k)
	}
	return out, nil
}

// Topology implements pluginv1.HostServer.
func (b *Binding) Topology(context.Context, *pluginv1.TopologyRequest) (*pluginv1.TopologyResponse, error) {
	if err := b.allow(plugin.ServiceTopology); err != nil {
		return nil, err
	}
	return &pluginv1.TopologyResponse{Plugins: b.s.Directory.Topology()}, nil
}

var _ pluginv1.HostServer = (*Binding)(nil)
