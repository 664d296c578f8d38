package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// server holds the crypto plugin's HTTP API. It keeps no key material: every
// request carries its own keys, which are wiped once used.
type server struct {
	// rand is the platform DRBG (sdk/rng in production). Every key, nonce,
	// salt and random output is drawn from it; RSA key generation only while
	// GODEBUG cryptocustomrand=1 is in force (see signAlgorithm.generate).
	rand io.Reader
	// maxBody caps each JSON request body.
	maxBody int64
}

// newServer returns a server drawing its randomness from rand, with the
// default configuration. rand must be safe for concurrent use, as the
// SDK's Env.Rand is.
func newServer(rand io.Reader) *server {
	return &server{rand: rand, maxBody: defaultMaxBodyBytes}
}

// applyConfig installs a validated configuration.
func (s *server) applyConfig(c config) {
	if c.MaxBodyBytes > 0 {
		s.maxBody = c.MaxBodyBytes
	}
}

// handlerFunc is an API operation: it returns the 200 response body or an
// error, which is written with apierror.Write.
type handlerFunc func(r *http.Request) (any, error)

// Handler returns the plugin's router. Unknown paths answer 404 and known
// paths with the wrong method 405, both in the JSON error shape.
func (s *server) Handler() http.Handler {
	routes := s.routes()
	// No path cleaning: a non-canonical path is a 404, not a redirect.
	m := mux.NewRouter().SkipClean(true)
	for _, rt := range routes {
		m.Handle(rt.path, s.adapt(rt.handle)).Methods(withHead(rt.method)...)
	}
	m.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierror.Write(w, r, apierror.NotFound("no such endpoint: %s", clip(r.URL.Path)))
	})
	m.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, rt := range routes {
			if rt.path == r.URL.Path {
				allow = append(allow, withHead(rt.method)...)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
		}
		apierror.Write(w, r, apierror.MethodNotAllowed(r.Method))
	})
	return m
}

// withHead adds HEAD to GET: a GET resource answers HEAD too (RFC 9110,
// section 9.3.2), with the same status and header fields and no body.
func withHead(method string) []string {
	if method == http.MethodGet {
		return []string{http.MethodGet, http.MethodHead}
	}
	return []string{method}
}

// adapt turns an operation into an http.Handler.
func (s *server) adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := h(r)
		if err != nil {
			plugin.WriteError(w, r, err)
			return
		}
		apierror.WriteJSON(w, http.StatusOK, resp)
	})
}

// decode strictly decodes the JSON request body into v.
func (s *server) decode(r *http.Request, v any) error {
	return apierror.DecodeJSON(r, s.maxBody, v)
}

// readRandom fills p from the injected random source.
func (s *server) readRandom(p []byte) error {
	if _, err := io.ReadFull(s.rand, p); err != nil {
		return fmt.Errorf("%w: %w", errRandom, err)
	}
	return nil
}

// decodeField decodes the base64url field name. A nil value is a missing
// field: an error when required, else nil bytes.
func decodeField(name string, v *string, required bool) ([]byte, error) {
	if v == nil {
		if required {
			return nil, errRequired(name)
		}
		return nil, nil
	}
	return apierror.DecodeBase64URL(name, *v)
}

// encode is the response encoding of binary values.
func encode(p []byte) string { return apierror.Base64URL.EncodeToString(p) }

// wipe zeroes secret byte slices we own. Copies the standard library keeps
// (expanded AES keys, parsed big.Int values) are out of its reach.
func wipe(bufs ...[]byte) {
	for _, b := range bufs {
		clear(b)
	}
}

// requireAlgorithm rejects a missing algorithm field.
func requireAlgorithm(name string) error {
	if name == "" {
		return errRequired("algorithm")
	}
	return nil
}
