package plugin

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
	"github.com/aunsorm/aunsorm/sdk/clock"
	"github.com/aunsorm/aunsorm/sdk/internal/pluginrpc"
	"github.com/aunsorm/aunsorm/sdk/internal/protocol"
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
	"github.com/aunsorm/aunsorm/sdk/rng"
	"github.com/aunsorm/aunsorm/sdk/seal"
)

// pluginServer implements the Plugin gRPC service inside the plugin process.
type pluginServer struct {
	pluginv1.UnimplementedPluginServer

	impl   Plugin
	desc   Descriptor
	lns    []net.Listener // [0] the TCP socket; [1] the gateway's unix socket, if any
	log    zerolog.Logger
	broker *pluginrpc.Broker

	// life is cancelled when the plugin stops; background work hangs off it.
	life   context.Context
	cancel context.CancelFunc

	draining atomic.Bool

	mu         sync.Mutex
	configured bool
	httpSrv    *http.Server
	wireSrv    *wireServer
	reader     *rng.Reader
	tracker    *clock.Tracker
}

func newPluginServer(impl Plugin, lns []net.Listener, log zerolog.Logger) *pluginServer {
	life, cancel := context.WithCancel(context.Background())
	return &pluginServer{impl: impl, desc: impl.Describe(), lns: lns, log: log, life: life, cancel: cancel}
}

// Describe implements pluginv1.PluginServer.
func (s *pluginServer) Describe(context.Context, *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	d := s.desc
	caps := d.Capabilities
	if len(s.lns) > 1 { // the gateway's unix socket speaks sdk/gatewire
		caps = append(slices.Clip(caps), WireCapability)
	}
	return &pluginv1.DescribeResponse{Name: d.Name, Kind: d.Kind, Version: d.Version, Routes: d.Routes,
		Capabilities: caps, HostServices: d.HostServices}, nil
}

// Configure implements pluginv1.PluginServer.
func (s *pluginServer) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	cfg := NewConfig(req.ConfigHcl, req.ConfigFilename, hcl.Pos{Line: int(req.ConfigLine), Column: int(req.ConfigColumn), Byte: int(req.ConfigByte)})
	if lvl, err := zerolog.ParseLevel(req.LogLevel); err == nil && req.LogLevel != "" {
		s.log = s.log.Level(lvl)
	}
	if req.ValidateOnly {
		_, err := s.impl.Configure(ctx, &Env{Config: cfg, ValidateOnly: true, InstanceName: req.InstanceName, DataDir: req.DataDir, Logger: s.log})
		return &pluginv1.ConfigureResponse{Diagnostics: toProtoDiagnostics(err)}, nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.configured {
		return nil, protocol.ToStatus(ErrAlreadyConfigured)
	}
	if len(req.ClockAuthorityPublicKey) != ed25519.PublicKeySize || req.ClockMaxAgeMs <= 0 {
		return nil, protocol.ToStatus(fmt.Errorf("%w: clock authority key and max age are required", ErrProtocol))
	}
	if req.DataDir != "" {
		if err := os.MkdirAll(req.DataDir, 0o700); err != nil {
			return nil, protocol.ToStatus(fmt.Errorf("plugin: data dir: %w", err))
		}
	}

	conn, err := s.broker.Dial(ctx, req.HostBrokerId)
	if err != nil {
		return nil, protocol.ToStatus(fmt.Errorf("%w: dial host services: %v", ErrUnavailable, err))
	}
	hostRPC := pluginv1.NewHostClient(conn)

	reseed := time.Duration(req.RngReseedIntervalMs) * time.Millisecond
	reader, err := rng.NewReader(s.life, rng.Config{
		Seed: func(ctx context.Context, n int) ([]byte, error) {
			resp, err := hostRPC.Entropy(ctx, &pluginv1.EntropyRequest{Bytes: uint32(n)})
			if err != nil {
				return nil, protocol.FromStatus(err)
			}
			return resp.Seed, nil
		},
		ReseedInterval:  reseed,
		Personalization: []byte("aunsorm-plugin:" + s.desc.Name + ":" + req.InstanceName),
	})
	if err != nil {
		return nil, protocol.ToStatus(fmt.Errorf("plugin: rng: %w", err))
	}

	sealer, err := newSealer(reader, req.SealKeys)
	if err != nil {
		reader.Close()
		return nil, protocol.ToStatus(fmt.Errorf("%w: %v", ErrProtocol, err))
	}

	tracker := clock.NewTracker(ed25519.PublicKey(req.ClockAuthorityPublicKey), time.Duration(req.ClockMaxAgeMs)*time.Millisecond)
	if snap, err := hostRPC.Attestation(ctx, &pluginv1.AttestationRequest{}); err == nil {
		if err := tracker.Update(snapshotFromProto(snap)); err != nil {
			s.log.Warn().Err(err).Msg("initial clock snapshot rejected")
		}
	}
	go s.watchClock(hostRPC, tracker)

	host := &Host{rpc: hostRPC}
	env := &Env{Config: cfg, InstanceName: req.InstanceName, DataDir: req.DataDir, Rand: reader,
		Clock: tracker, Auditor: host, Peers: host, Topology: host, Host: host, Sealer: sealer, Logger: s.log, storage: storageFromProto(req)}
	handler, err := s.impl.Configure(ctx, env)
	if err != nil {
		reader.Close()
		var ce *ConfigError
		if errors.As(err, &ce) {
			return &pluginv1.ConfigureResponse{Diagnostics: toProtoDiagnostics(err)}, nil
		}
		return nil, protocol.ToStatus(fmt.Errorf("%w: %v", ErrConfig, err))
	}
	s.reader, s.tracker = reader, tracker
	wrapped := s.wrap(handler)
	tcp := wrapped
	if len(s.lns) > 1 {
		// The daemon reaches this plugin over the unix socket; a caller
		// on the TCP port cannot name a calling plugin, nor the time the
		// gateway stamped on the request.
		tcp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Del(CallerHeader)
			r.Header.Del(calibration.HeaderForwardedTime)
			wrapped.ServeHTTP(w, r)
		})
	}
	s.httpSrv = &http.Server{
		Handler:           tcp,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          nil,
	}
	srv := s.httpSrv
	go func() {
		if err := srv.Serve(s.lns[0]); err != nil && !errors.Is(err, http.ErrServerClosed) && !s.draining.Load() {
			s.log.Error().Err(err).Msg("http server stopped")
		}
	}()
	// The gateway's unix socket speaks the framing of sdk/gatewire.
	if len(s.lns) > 1 {
		s.wireSrv = newWireServer(wrapped, s.log)
		wsrv := s.wireSrv
		go func() {
			if err := wsrv.Serve(s.lns[1]); err != nil && !errors.Is(err, http.ErrServerClosed) && !s.draining.Load() {
				s.log.Error().Err(err).Msg("gateway socket server stopped")
			}
		}()
	}
	s.configured = true
	s.log.Info().Str("version", s.desc.Version).Str("listen", s.lns[0].Addr().String()).Msg("plugin serving")
	return &pluginv1.ConfigureResponse{}, nil
}

// newSealer builds the plugin's sealer from the keys the host derived for
// it, clearing them from the request afterwards; no keys means no sealer.
func newSealer(rand io.Reader, keys []*pluginv1.SealKey) (*seal.Sealer, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ks := make([]seal.Key, len(keys))
	for i, k := range keys {
		ks[i] = seal.Key{Version: k.GetVersion(), Secret: k.GetKey()}
	}
	s, err := seal.New(rand, ks...)
	for _, k := range keys {
		clear(k.Key)
	}
	return s, err
}

// watchClock follows the daemon's attestation stream until the plugin stops,
// reconnecting after a pause when the stream breaks.
func (s *pluginServer) watchClock(hostRPC pluginv1.HostClient, tracker *clock.Tracker) {
	for s.life.Err() == nil {
		stream, err := hostRPC.WatchAttestation(s.life, &pluginv1.AttestationRequest{})
		if err == nil {
			for {
				snap, err := stream.Recv()
				if err != nil {
					break
				}
				if err := tracker.Update(snapshotFromProto(snap)); err != nil {
					s.log.Warn().Err(err).Msg("clock snapshot rejected")
				}
			}
		}
		select {
		case <-s.life.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// wrap adds the SDK's per-request layers: panic recovery (no stack trace to
// the client), /health on the plugin's own listener, and the calibration
// check on every other route.
func (s *pluginServer) wrap(h http.Handler) http.Handler {
	// An exact match, not an http.ServeMux: a mux answers a path it would
	// clean ("//x", "/a/../health") with a 301 of its own, so the plugin's
	// routes would never see it. Every other path, cleaned or not, is the
	// plugin's to answer (its route table refuses what it does not serve).
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			s.serveHealth(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
	calibrated := calibration.Middleware(s.tracker, calibration.Options{Exempt: []string{"/health"}, TrustForwarded: true})(mux)
	version := s.desc.Name + "/" + s.desc.Version
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The gateway sets the request id; a direct caller gets one here,
		// or a 500 when none can be drawn (never an empty id).
		id := r.Header.Get(apierror.RequestIDHeader)
		if !apierror.ValidRequestID(id) {
			var b [16]byte
			if _, err := io.ReadFull(s.reader, b[:]); err != nil {
				s.log.Error().Err(err).Str("path", r.URL.Path).Msg("request refused: no request id could be drawn")
				r.Header.Del(apierror.RequestIDHeader)
				w.Header().Set(VersionHeader, version)
				apierror.Write(w, r, apierror.Internal())
				return
			}
			id = hex.EncodeToString(b[:])
			r.Header.Set(apierror.RequestIDHeader, id)
		}
		w.Header().Set(apierror.RequestIDHeader, id)
		w.Header().Set(VersionHeader, version)
		// WriteError logs a failure's cause with the plugin's logger.
		r = r.WithContext(s.log.WithContext(r.Context()))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error().Str("request_id", id).Str("method", r.Method).Str("path", r.URL.Path).Str("panic", fmt.Sprint(v)).Msg("handler panicked")
				apierror.Write(w, r, apierror.Internal())
			}
		}()
		calibrated.ServeHTTP(w, r)
	})
}

// healthReport is the plugin's own /health body, in snake_case like every
// document the platform serves.
type healthReport struct {
	Status  string       `json:"status"`
	Detail  string       `json:"detail,omitempty"`
	Plugin  string       `json:"plugin"`
	Version string       `json:"version"`
	Clock   clockReport  `json:"clock"`
	RNG     rngReport    `json:"rng"`
	Checks  *checkReport `json:"dependencies,omitempty"`
}

type clockReport struct {
	Status         string `json:"status"`
	AgeMs          int64  `json:"age_ms"`
	MaxMs          int64  `json:"max_ms"`
	AttestedUnixMs int64  `json:"attested_unix_ms,omitempty"`
	Error          string `json:"error,omitempty"`
}

type rngReport struct {
	Status  string `json:"status"`
	Reseeds uint64 `json:"reseeds"`
}

type checkReport struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

func (s *pluginServer) health(ctx context.Context) healthReport {
	rep := healthReport{Status: "ok", Plugin: s.desc.Name, Version: s.desc.Version}
	st := s.tracker.Status()
	rep.Clock = clockReport{Status: "ok", AgeMs: st.Age.Milliseconds(), MaxMs: st.MaxAge.Milliseconds()}
	if !st.AttestedNow.IsZero() {
		rep.Clock.AttestedUnixMs = st.AttestedNow.UnixMilli()
	}
	if !st.Fresh {
		rep.Clock.Status, rep.Clock.Error = "stale", calibration.Error(st.Err).Code
		rep.Status, rep.Detail = "failing", "clock attestation is not fresh"
	}
	rs := s.reader.Stats()
	rep.RNG = rngReport{Status: "ok", Reseeds: rs.Reseeds}
	if !rs.Healthy {
		rep.RNG.Status = "failing"
		rep.Status, rep.Detail = "failing", "rng is not healthy"
	}
	if hc, ok := s.impl.(HealthChecker); ok {
		rep.Checks = &checkReport{Status: "ok"}
		if err := hc.CheckHealth(ctx); err != nil {
			rep.Checks = &checkReport{Status: "failing", Error: err.Error()}
			rep.Status, rep.Detail = "failing", "a dependency is failing"
		}
	}
	return rep
}

func (s *pluginServer) serveHealth(w http.ResponseWriter, r *http.Request) {
	rep := s.health(r.Context())
	status := http.StatusOK
	if rep.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	apierror.WriteJSON(w, status, rep)
}

// Health implements pluginv1.PluginServer.
func (s *pluginServer) Health(ctx context.Context, _ *pluginv1.HealthRequest) (*pluginv1.HealthResponse, error) {
	s.mu.Lock()
	configured := s.configured
	s.mu.Unlock()
	if !configured {
		return &pluginv1.HealthResponse{Status: "starting"}, nil
	}
	rep := s.health(ctx)
	return &pluginv1.HealthResponse{Status: rep.Status, Detail: rep.Detail, RngReady: rep.RNG.Status == "ok", ClockFresh: rep.Clock.Status == "ok"}, nil
}

// Drain implements pluginv1.PluginServer: close this process's handle on
// the shared listener so only the replacement accepts new connections;
// connections already open keep being served until Stop.
func (s *pluginServer) Drain(context.Context, *pluginv1.DrainRequest) (*pluginv1.DrainResponse, error) {
	s.draining.Store(true)
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.log.Info().Msg("draining: no longer accepting connections")
	return &pluginv1.DrainResponse{}, nil
}

// Stop implements pluginv1.PluginServer: stop accepting, drain in-flight
// requests until the deadline, then release resources.
func (s *pluginServer) Stop(ctx context.Context, req *pluginv1.StopRequest) (*pluginv1.StopResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	drain := time.Duration(req.DrainTimeoutMs) * time.Millisecond
	if drain <= 0 {
		drain = 10 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, drain)
	defer cancel()
	if s.httpSrv != nil {
		var wg sync.WaitGroup
		if ws := s.wireSrv; ws != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := ws.Shutdown(dctx); err != nil {
					s.log.Warn().Err(err).Msg("drain deadline reached; closing remaining gateway connections")
				}
			}()
		}
		if err := s.httpSrv.Shutdown(dctx); err != nil {
			s.log.Warn().Err(err).Msg("drain deadline reached; closing remaining connections")
			_ = s.httpSrv.Close()
		}
		wg.Wait()
	} else {
		for _, ln := range s.lns {
			_ = ln.Close()
		}
	}
	if c, ok := s.impl.(Closer); ok {
		if err := c.Close(dctx); err != nil {
			s.log.Warn().Err(err).Msg("plugin close")
		}
	}
	if s.reader != nil {
		s.reader.Close()
	}
	s.cancel()
	// Nothing is left to serve: exit once the reply is on its way, so the
	// daemon does not have to wait for go-plugin's kill timeout.
	go func() {
		time.Sleep(100 * time.Millisecond)
		os.Exit(0)
	}()
	return &pluginv1.StopResponse{}, nil
}

func snapshotFromProto(p *pluginv1.ClockSnapshot) clock.Snapshot {
	return clock.Snapshot{AuthorityID: p.AuthorityId, AuthorityFingerprintHex: p.AuthorityFingerprintHex,
		UnixTimeMs: p.UnixTimeMs, Stratum: p.Stratum, RoundTripMs: p.RoundTripMs, DispersionMs: p.DispersionMs,
		EstimatedOffsetMs: p.EstimatedOffsetMs, SignatureB64: p.SignatureB64}
}
