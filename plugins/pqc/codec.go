package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// b64 is the wire encoding of every binary field: base64url without padding
// (RFC 4648 §5).
var b64 = base64.RawURLEncoding.Strict()

// encode64 encodes a binary response field.
func encode64(b []byte) string { return b64.EncodeToString(b) }

// decode64 decodes the binary request field named field. Padding, line
// breaks, the standard alphabet and non-canonical trailing bits are refused
// with a 400 invalid_request naming the field.
func decode64(field, s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, apiInvalidRequest("field %q must be base64url without padding (line breaks found)", field)
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, apiInvalidRequest("field %q must be base64url without padding", field)
	}
	return b, nil
}

// decodeRequired is decode64 for a field that may not be empty.
func decodeRequired(field, s string) ([]byte, error) {
	if s == "" {
		return nil, apiInvalidRequest("field %q is required", field)
	}
	return decode64(field, s)
}

// wipe zeroes secret buffers once a request no longer needs them.
func wipe(bufs ...[]byte) {
	for _, b := range bufs {
		clear(b)
	}
}

// Key encodings selectable with the request field "format".
const (
	formatRaw   = "raw"
	formatDER   = "der"   // keygen: SPKI public key and PKCS#8 private key
	formatSPKI  = "spki"  // a public key input
	formatPKCS8 = "pkcs8" // a private key input
)

// checkFormat validates the "format" field against the values an endpoint
// accepts (the first is the default) and against the algorithm's encodings.
func checkFormat(got string, a *algorithm, allowed ...string) (string, error) {
	if got == "" {
		return allowed[0], nil
	}
	for _, f := range allowed {
		if got == f {
			if f != formatRaw && a.oid == nil {
				return "", apiInvalidRequest("field \"format\": %s has no standard OID, only \"raw\" is available", a.name)
			}
			return f, nil
		}
	}
	return "", apiInvalidRequest("field \"format\" must be one of %q, got %q", allowed, got)
}

// readRandom reads n bytes from the platform DRBG.
func readRandom(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("%w: %w", errRandom, err)
	}
	return b, nil
}

// lockedReader serialises reads from a random source that need not be safe
// for concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

// Read implements io.Reader.
func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return io.ReadFull(l.r, p)
}

// internalError hides err from the client: a 500 with a fixed description.
func internalError(error) error { return apierror.Internal() }
