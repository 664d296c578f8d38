// Package gateway is the daemon's public HTTP(S) front on :50010. It routes
// each path prefix to the plugin that declared it (a reverse proxy to the
// plugin's loopback listener) and applies, in order: request id, access log,
// panic recovery, per-client rate limit, the fail-closed calibration check,
// the body-size limit and the upstream deadline. Everything it rejects
// itself uses the JSON error shape of sdk/apierror.
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
	// Routes served by the gateway itself; everything else is a plugin's.
	// HEAD as GET without the body (RFC 9110, section 9.3.2), for health
	// checkers that probe with it.
	r.Methods(http.MethodGet, http.MethodHead).Path("/health").HandlerFunc(g.serveHealth)
	r.Methods(http.MethodGet, http.MethodHead).Path("/clock/attestation").HandlerFunc(g.serveAttestation)
	// The running plugins' OpenAPI documents, merged.
	r.Methods(http.MethodGet, http.MethodHead).Path(DocumentPath).Handler(newOpenAPI(opts.Supervisor, opts.Config.UpstreamTimeout, g.log))
	// Every other path is a plugin's: the proxy is the router's fallback
	// and routes by the supervisor's prefixes itself (no pattern per plugin;
	// mux still wraps the request with its empty route context).
	r.NotFoundHandler = g.proxy
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		apierror.Write(w, r, apierror.MethodNotAllowed(r.Method))
	})

	calibrated := calibration.Middleware(opts.Authority.Tracker(), calibration.Options{
		Exempt: []string{"/health", "/clock/attestation", DocumentPath},
	})(r)
	g.handler = g.requestID(g.accessLog(g.recoverer(g.rateLimit(calibrated))))
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

// notFound answers 404 in the JSON shape.
func notFound(w http.ResponseWriter, r *http.Request) {
	apierror.Write(w, r, apierror.NotFound("no route for %s", r.URL.Path))
}
