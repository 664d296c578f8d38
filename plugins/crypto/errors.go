package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// Internal failures. They never reach a client as text: apierror.Write turns
// anything that is not an *apierror.Error into a fixed 500 internal_error.
var (
	// errRandom reports a failure of the injected random source.
	errRandom = errors.New("crypto: random source failed")
	// errRandomRejected reports that rejection sampling drew too many
	// out-of-range candidates in a row, which only a broken source does.
	errRandomRejected = errors.New("crypto: random source produced no usable candidate")
	// errKeyEncoding reports a failure to marshal a freshly generated key.
	errKeyEncoding = errors.New("crypto: key encoding failed")
	// errSign reports an unexpected failure of a signing primitive.
	errSign = errors.New("crypto: signing failed")
	// errPrimitive reports an unexpected failure of another primitive.
	errPrimitive = errors.New("crypto: primitive failed")
	// errConfig reports an invalid plugin configuration block.
	errConfig = errors.New("crypto: invalid config")
)

// API error codes answered by this plugin, beside the ones apierror defines
// (invalid_request, not_found, method_not_allowed, request_too_large,
// unsupported_media_type, internal_error). Codes are part of the API.
const (
	codeUnsupportedAlgorithm = "unsupported_algorithm"
	codeDecryptionFailed     = "decryption_failed"
	codeInvalidKey           = "invalid_key"
)

// decryptionFailedDescription is the one description of every failed
// authentication: it says nothing of which input was wrong.
const decryptionFailedDescription = "the ciphertext could not be authenticated with this key, nonce and aad"

// errDecryptionFailed is the answer to any AEAD open failure.
func errDecryptionFailed() *apierror.Error {
	return apierror.New(http.StatusBadRequest, codeDecryptionFailed, decryptionFailedDescription)
}

// errUnsupportedAlgorithm names the algorithm asked for (quoted and cut
// short, it is client input) and lists the supported ones.
func errUnsupportedAlgorithm(got string, supported []string) *apierror.Error {
	return apierror.Newf(http.StatusBadRequest, codeUnsupportedAlgorithm,
		"algorithm %q is not supported; supported: %s", clip(got), strings.Join(supported, ", "))
}

// errInvalidKey is a 400 invalid_key naming the field and the reason. The
// reason never carries key material.
func errInvalidKey(field, format string, args ...any) *apierror.Error {
	return apierror.Newf(http.StatusBadRequest, codeInvalidKey, "field %q: %s", field, fmt.Sprintf(format, args...))
}

// errRequired is a 400 for a missing field.
func errRequired(field string) *apierror.Error {
	return apierror.BadRequest("field %q is required", field)
}

// clip bounds client-supplied text echoed in an error description.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
