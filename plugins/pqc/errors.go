package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// Internal errors of the plugin. Messages are lowercase, prefixed by the
// component and never carry key material.
var (
	errConfig            = errors.New("pqc: invalid configuration")
	errSelfTest          = errors.New("pqc: start-up self-test failed")
	errRandom            = errors.New("pqc: reading the random source failed")
	errInvalidKey        = errors.New("pqc: invalid key")
	errInvalidCiphertext = errors.New("pqc: invalid ciphertext")
	errUnsupported       = errors.New("pqc: operation not supported by this implementation")
	errASN1              = errors.New("pqc: malformed DER")
)

// API error codes. They are part of the API: never rename one.
const (
	codeUnsupportedAlgorithm = "unsupported_algorithm"
	codeInvalidKey           = "invalid_key"
	codeInvalidCiphertext    = "invalid_ciphertext"
	codeInvalidRequest       = "invalid_request"
	codeAlgorithmUnavailable = "algorithm_unavailable"
	codeBusy                 = "busy"
)

// apiUnsupported is a 400 unsupported_algorithm.
func apiUnsupported(format string, args ...any) *apierror.Error {
	return apierror.Newf(http.StatusBadRequest, codeUnsupportedAlgorithm, format, args...)
}

// apiInvalidKey is a 400 invalid_key.
func apiInvalidKey(format string, args ...any) *apierror.Error {
	return apierror.Newf(http.StatusBadRequest, codeInvalidKey, format, args...)
}

// apiInvalidCiphertext is a 400 invalid_ciphertext.
func apiInvalidCiphertext(format string, args ...any) *apierror.Error {
	return apierror.Newf(http.StatusBadRequest, codeInvalidCiphertext, format, args...)
}

// apiInvalidRequest is a 400 invalid_request.
func apiInvalidRequest(format string, args ...any) *apierror.Error {
	return apierror.Newf(http.StatusBadRequest, codeInvalidRequest, format, args...)
}

// apiUnavailable is a 503 algorithm_unavailable: the algorithm failed its
// start-up self-test. It is not transient, so no Retry-After is sent.
func apiUnavailable(name, reason string) *apierror.Error {
	return apierror.Unavailable(codeAlgorithmUnavailable, fmt.Sprintf("%s is unavailable: %s", name, reason), 0)
}

// apiBusy is a 503 busy with a Retry-After, sent when the slow-set queue is full.
func apiBusy(retryAfter int) *apierror.Error {
	return apierror.Unavailable(codeBusy, "too many slow SLH-DSA operations are running or queued; retry later", retryAfter)
}

// sizeError names the field, the expected size and the size received.
func sizeError(code, field, alg string, want, got int) *apierror.Error {
	return apierror.Newf(http.StatusBadRequest, code, "field %q must be %d bytes for %s, got %d", field, want, alg, got)
}
