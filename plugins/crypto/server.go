package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/aunsorm/aunsorm/sdk/apierror"
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

// Handler returns the plugin's router, built from its route table: unknown
// paths answer 404 and known paths with the wrong method 405, both in the
// JSON error shape; the OpenAPI document is at /crypto/openapi.json.
func (s *server) Handler() http.Handler { return s.table().MustHandler() }

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
