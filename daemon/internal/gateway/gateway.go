// Package gateway is the daemon's public HTTP(S) front on :50010. It routes
// each path prefix to the plugin that declared it (a reverse proxy to the
// plugin's loopback listener) and applies, in order: access log, closing
// the connection after a chunked request, attested-time headers, request
// id, panic recovery, per-client rate limit, the request-target check (no
// redirects, see edges.go), the fail-closed calibration check, the
// body-size limit and the upstream deadline. Everything it rejects itself
// uses the JSON error shape of sdk/apierror.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/attest"
	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
	"github.com/aunsorm/aunsorm/sdk/rng"
)

// RNGStatus is what the gateway needs of the daemon's DRBG.
type RNGStatus interface {
	Stats() rng.Stats
}

// Options configures a Gateway.
type Options struct {
	Config     config.Gateway
	Supervisor *supervisor.Supervisor
	Authority  *attest.Authority
	RNG        RNGStatus
	Rand       io.Reader
	Log        zerolog.Logger
	// Storage is the daemon's database (the audit log's); nil skips the
	// storage check of /health.
	Storage StoragePinger
}

// Gateway is the HTTP front.
type Gateway struct {
	opts    Options
	log     zerolog.Logger
	handler http.Handler
	limiter *limiter
	ids     *idSource
	proxy   *proxy
	srv     *http.Server
}

// New builds the gateway's handler chain.
func New(opts Options) *Gateway {
	g := &Gateway{opts: opts, log: opts.Log.With().Str("component", "gateway").Logger()}
	g.ids = newIDSource(opts.Rand)
	if opts.Config.RateLimit.Enabled {
		g.limiter = newLimiter(opts.Config.RateLimit.RequestsPerSecond, opts.Config.RateLimit.Burst)
	}
	g.proxy = newProxy(opts.Supervisor, opts.Config.UpstreamTimeout, opts.Config.MaxBodyBytes, g.log)

	r := mux.NewRouter()
	r.StrictSlash(false)
	// checkTarget has refused every path mux would clean; mux must never
	// answer with a redirect of its own.
	r.SkipClean(true)
	// Routes served by the gateway itself, one line each; every other path
	// is a plugin's. HEAD as GET without the body (RFC 9110, section
	// 9.3.2), for health checkers that probe with it.
	routes := []struct {
		path    string
		methods []string
		h       http.HandlerFunc
	}{
		{"/health", []string{http.MethodGet, http.MethodHead}, g.serveHealth},
		{"/clock/attestation", []string{http.MethodGet, http.MethodHead}, g.serveAttestation},
		// The running plugins' OpenAPI documents, merged.
		{DocumentPath, []string{http.MethodGet, http.MethodHead}, newOpenAPI(opts.Supervisor, opts.Config.UpstreamTimeout, g.log).ServeHTTP},
	}
	for _, rt := range routes {
		r.Methods(rt.methods...).Path(rt.path).HandlerFunc(rt.h)
		allowed := rt.methods
		r.Path(rt.path).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			apierror.WriteMethodNotAllowed(w, r, allowed...)
		})
	}
	// The proxy is the router's fallback and routes by the supervisor's
	// prefixes itself (no pattern per plugin; mux still wraps the request
	// with its empty route context).
	r.NotFoundHandler = g.proxy

	calibrated := calibration.Middleware(opts.Authority.Tracker(), calibration.Options{
		Exempt: []string{"/health", "/clock/attestation", DocumentPath},
	})(r)
	// Outermost first: the access log sees every answer; the
	// connection-close decision, the attested-time headers and the request
	// id are on the response before anything else can answer.
	g.handler = g.accessLog(g.closeChunked(g.attestedTime(g.requestID(g.recoverer(
		g.rateLimit(g.checkTarget(calibrated)))))))
	return g
}

// Handler returns the full handler chain (tests drive it directly).
func (g *Gateway) Handler() http.Handler { return g.handler }

// Serve serves on ln until ctx ends, then shuts down gracefully.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	c := g.opts.Config
	g.srv = &http.Server{
		Handler:           g.handler,
		ReadHeaderTimeout: min(c.ReadTimeout, 10*time.Second),
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsConfig,
		ErrorLog:          newStdLogger(g.log),
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- g.srv.Serve(tls.NewListener(ln, tlsConfig))
		} else {
			errc <- g.srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := g.srv.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// notFound answers the platform's one 404, which names nothing of the
// request.
func notFound(w http.ResponseWriter, r *http.Request) {
	apierror.Write(w, r, apierror.NoEndpoint())
}
