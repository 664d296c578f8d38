package gateway

import (
	"net/http"
	"strings"
)

// This file holds what the gateway checks about a request before routing
// it: the form of the request target and the framing of the body.
//
// Request target (RFC 9112 §3.2, RFC 3986 §3.3). The gateway serves only
// origin-form targets (and absolute-form, which net/http reduces to the
// same path). A path must already be canonical: it starts with '/', has no
// empty segment ("//"), no "." or ".." segment (also when written %2e),
// no control character once decoded and no encoded '/' (%2f), so the path
// the gateway routes on is the one the plugin routes on. Anything else is
// answered 400 with the JSON error shape. The gateway never redirects to a
// cleaned path (gorilla/mux would, with a Location built from the
// client's input), and never echoes the path or the Host back.
//
// Body framing (RFC 9112 §6.3, item 3). A request with both
// Transfer-Encoding and Content-Length "ought to be handled as an error"
// and the server "MUST close the connection after responding". net/http
// accepts such a request, lets chunked win and deletes Content-Length
// from the header before any handler runs, so the two cannot be told
// apart from a request that was only chunked. The gateway therefore closes
// the connection after answering any HTTP/1.1 request whose body was
// chunked: a pipelined request behind it is never read. Clients of a JSON
// API send Content-Length for all but streamed bodies, so the cost is one
// new connection after a chunked upload. HTTP/2 has no Transfer-Encoding
// (net/http refuses it there) and is not affected. ADR 20 gives the
// alternatives and why they were not taken.

// targetError reports why a request target is refused, or nil when it is
// served: method and target as net/http parsed them (r.Method,
// r.URL.Path, r.URL.RawPath).
func targetError(method, path, rawPath string) error {
	if method == http.MethodConnect {
		return errConnect
	}
	if path == "" || path[0] != '/' {
		return errTargetForm
	}
	if hasEncodedSlash(rawPath) {
		return errNotCanonical
	}
	// Segments between slashes: the first (before the leading '/') is
	// empty by construction; a trailing '/' leaves an empty last segment,
	// which is allowed ("/echo/").
	segs := strings.Split(path[1:], "/")
	for i, s := range segs {
		switch {
		case s == "" && i != len(segs)-1:
			return errNotCanonical
		case s == "." || s == "..":
			return errNotCanonical
		}
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c < 0x20 || c == 0x7f {
			return errNotCanonical
		}
	}
	return nil
}

// hasEncodedSlash reports whether an escaped path holds %2f in any case.
func hasEncodedSlash(raw string) bool {
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] == '%' && raw[i+1] == '2' && (raw[i+2] == 'f' || raw[i+2] == 'F') {
			return true
		}
	}
	return false
}

// checkTarget answers a request whose target targetError refuses, before
// any router sees it.
func (g *Gateway) checkTarget(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := targetError(r.Method, r.URL.Path, r.URL.RawPath); err != nil {
			writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// closeChunked makes net/http close an HTTP/1.x connection once it has
// answered a request whose body was chunked (see the top of this file).
// It runs before anything can write the response, so every answer to such
// a request, error or not, carries Connection: close.
func (g *Gateway) closeChunked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
