package admin

import "errors"

// ErrInsecureListener: a TCP listener on a non-loopback address without
// TLS, which would carry the bearer token in clear.
var ErrInsecureListener = errors.New("admin: a non-loopback listener needs TLS")
