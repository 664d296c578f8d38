package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aunsorm/aunsorm/sdk/route"
)

// server is the PQC plugin's HTTP service. It is stateless between requests:
// every key arrives in the request and nothing is kept after the response.
type server struct {
	cfg   config
	rand  io.Reader
	reg   *registry
	mlkem mlkemBackend
	slow  *slowLimiter
	// unavailable maps a parameter set name to the reason it is not served
	// (a failed start-up self-test). Written only while building the server.
	unavailable map[string]string
}

// deps are the replaceable parts of a server; tests swap them.
type deps struct {
	// backends maps an implementation name to its ML-KEM backend.
	backends map[string]mlkemBackend
}

// defaultDeps are the production implementations.
func defaultDeps() deps {
	return deps{backends: map[string]mlkemBackend{implCircl: circlBackend{}, implGo: goBackend{}}}
}

// newServer validates cfg, runs the start-up self-tests and builds the
// service. Every random byte the service uses is read from rand, the
// platform DRBG. In strict mode a failed self-test is fatal; otherwise the
// failing parameter sets are reported unavailable and refused with 503.
func newServer(cfg config, rand io.Reader) (*server, error) {
	return newServerWith(cfg, rand, defaultDeps())
}

// newServerWith is newServer with explicit dependencies.
func newServerWith(cfg config, rand io.Reader, d deps) (*server, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if rand == nil {
		return nil, fmt.Errorf("%w: no random source", errConfig)
	}
	b, ok := d.backends[cfg.Implementation]
	if !ok {
		return nil, fmt.Errorf("%w: no backend for implementation %q", errConfig, cfg.Implementation)
	}
	s := &server{
		cfg:         cfg,
		rand:        rand,
		reg:         newRegistry(),
		mlkem:       b,
		slow:        newSlowLimiter(cfg.SLHDSAMaxConcurrency, cfg.SLHDSAQueueDepth),
		unavailable: map[string]string{},
	}
	failures := s.selfTest()
	if len(failures) > 0 {
		if cfg.Strict {
			var msgs []string
			for _, f := range failures {
				msgs = append(msgs, f.Error())
			}
			return nil, fmt.Errorf("%w: strict mode refuses to start: %s", errSelfTest, strings.Join(msgs, "; "))
		}
		for _, f := range failures {
			for _, name := range f.algorithms {
				s.unavailable[name] = "its start-up self-test failed"
			}
		}
	}
	return s, nil
}

// implementationName is the configured ML-KEM implementation ("circl" or "go").
func (s *server) implementationName() string { return s.cfg.Implementation }

// Handler returns the plugin's HTTP handler, built from its route table:
// unknown paths answer 404 and known paths with the wrong method 405, both
// in the JSON error shape; the OpenAPI document is at /pqc/openapi.json.
func (s *server) Handler() http.Handler { return s.table().MustHandler() }

// table is the whole API of the plugin. Binary fields are base64url without
// padding; every key arrives in the request.
func (s *server) table() *route.Table {
	post := func(rt route.Route, summary string) route.Route {
		return rt.Doc(summary, "").
			Fails(http.StatusBadRequest, codeUnsupportedAlgorithm, "The parameter set is unknown, served on another route, or refused by strict mode.").
			Fails(http.StatusRequestEntityTooLarge, "request_too_large", "The body exceeds max_body_bytes.").
			Fails(http.StatusUnsupportedMediaType, "unsupported_media_type", "The body is not application/json.").
			Fails(http.StatusServiceUnavailable, codeAlgorithmUnavailable, "The parameter set failed its start-up self-test.")
	}
	kem := func(rt route.Route, summary string) route.Route {
		return post(rt, summary).Fails(http.StatusBadRequest, codeInvalidKey, "A key is not of the size or encoding the parameter set needs.")
	}
	sig := func(rt route.Route, summary string) route.Route {
		return kem(rt, summary).Fails(http.StatusServiceUnavailable, codeBusy, "Too many slow SLH-DSA operations are running or queued; retry after Retry-After.")
	}
	return &route.Table{
		Title:   "Aunsorm PQC plugin",
		Version: version,
		Description: "Post-quantum KEMs (ML-KEM, X-Wing) and signatures (ML-DSA, SLH-DSA). " +
			"GET /pqc/capabilities lists the parameter sets, their sizes and encodings.",
		Prefix:  "/pqc",
		MaxBody: s.cfg.MaxBodyBytes,
		Routes: []route.Route{
			route.JSON(http.MethodGet, "/pqc/capabilities", s.handleCapabilities).Doc("The parameter sets served, their sizes and encodings", ""),
			kem(route.JSON(http.MethodPost, "/pqc/ml-kem/keygen", s.kemKeygen(routeMLKEM)), "Generate an ML-KEM key pair"),
			kem(route.JSON(http.MethodPost, "/pqc/ml-kem/encapsulate", s.kemEncapsulate(routeMLKEM)), "Encapsulate a shared secret to an ML-KEM public key"),
			kem(route.JSON(http.MethodPost, "/pqc/ml-kem/decapsulate", s.kemDecapsulate(routeMLKEM)), "Decapsulate an ML-KEM ciphertext").
				Fails(http.StatusBadRequest, codeInvalidCiphertext, "The ciphertext is not of the parameter set's size."),
			kem(route.JSON(http.MethodPost, "/pqc/x-wing/keygen", s.kemKeygen(routeXWing)), "Generate an X-Wing key pair"),
			kem(route.JSON(http.MethodPost, "/pqc/x-wing/encapsulate", s.kemEncapsulate(routeXWing)), "Encapsulate a shared secret to an X-Wing public key"),
			kem(route.JSON(http.MethodPost, "/pqc/x-wing/decapsulate", s.kemDecapsulate(routeXWing)), "Decapsulate an X-Wing ciphertext").
				Fails(http.StatusBadRequest, codeInvalidCiphertext, "The ciphertext is not of the parameter set's size."),
			sig(route.JSON(http.MethodPost, "/pqc/ml-dsa/keygen", s.sigKeygen(routeMLDSA)), "Generate an ML-DSA key pair"),
			sig(route.JSON(http.MethodPost, "/pqc/ml-dsa/sign", s.sigSign(routeMLDSA)), "Sign with ML-DSA (hedged by default)"),
			sig(route.JSON(http.MethodPost, "/pqc/ml-dsa/verify", s.sigVerify(routeMLDSA)), "Verify an ML-DSA signature"),
			sig(route.JSON(http.MethodPost, "/pqc/slh-dsa/keygen", s.sigKeygen(routeSLHDSA)), "Generate an SLH-DSA key pair"),
			sig(route.JSON(http.MethodPost, "/pqc/slh-dsa/sign", s.sigSign(routeSLHDSA)), "Sign with SLH-DSA (hedged by default)"),
			sig(route.JSON(http.MethodPost, "/pqc/slh-dsa/verify", s.sigVerify(routeSLHDSA)), "Verify an SLH-DSA signature"),
		},
	}
}

// checkAlgorithm applies the route, strict-mode and availability rules to a
// parameter set found by name (a is nil when the name is unknown to the route).
func (s *server) checkAlgorithm(route, name string, a *algorithm) error {
	if name == "" {
		return apiInvalidRequest("field \"algorithm\" is required (one of %s)", s.reg.namesOnRoute(route, s.cfg.Strict))
	}
	if a == nil || a.route != route {
		if other := s.reg.find(name); other != nil {
			return apiUnsupported("%s is served on /pqc/%s/, not /pqc/%s/", other.name, other.route, route)
		}
		if sphincsName(name) {
			return apiUnsupported("%q is a pre-standard SPHINCS+ name and is not implemented; use its FIPS 205 successor SLH-DSA (%s)", name, s.reg.namesOnRoute(routeSLHDSA, s.cfg.Strict))
		}
		return apiUnsupported("algorithm %q is not supported on /pqc/%s/; supported: %s", name, route, s.reg.namesOnRoute(route, s.cfg.Strict))
	}
	if s.cfg.Strict && !strictAllows(a) {
		return apiUnsupported("%s", strictRefusal(a))
	}
	if reason, bad := s.unavailable[a.name]; bad {
		return apiUnavailable(a.name, reason)
	}
	return nil
}

// kemFor resolves the KEM parameter set a request names on a route.
func (s *server) kemFor(route, name string) (*kemAlg, error) {
	if name == "" && route == routeXWing {
		name = "X-Wing"
	}
	a := s.reg.findKEM(name)
	var common *algorithm
	if a != nil {
		common = &a.algorithm
	}
	if err := s.checkAlgorithm(route, name, common); err != nil {
		return nil, err
	}
	return a, nil
}

// sigFor resolves the signature parameter set a request names on a route.
func (s *server) sigFor(route, name string) (*sigAlg, error) {
	a := s.reg.findSig(name)
	var common *algorithm
	if a != nil {
		common = &a.algorithm
	}
	if err := s.checkAlgorithm(route, name, common); err != nil {
		return nil, err
	}
	return a, nil
}

// backendFor returns the ML-KEM backend serving a, or nil for KEMs that are
// not ML-KEM. ML-KEM-512 under implementation "go" falls back to circl,
// since crypto/mlkem has no ML-KEM-512.
func (s *server) backendFor(a *kemAlg) mlkemBackend {
	if a.mlkemBits == 0 {
		return nil
	}
	if s.mlkem.supports(a.mlkemBits) {
		return s.mlkem
	}
	return circlBackend{}
}
