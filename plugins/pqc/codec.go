package main

import (
	"fmt"
	"io"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// encode64 encodes a binary response field.
func encode64(b []byte) string { return apierror.Base64URL.EncodeToString(b) }

// decode64 decodes the binary request field named field (sdk/apierror's
// strict base64url: no padding, line breaks or standard alphabet).
func decode64(field, s string) ([]byte, error) { return apierror.DecodeBase64URL(field, s) }

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
