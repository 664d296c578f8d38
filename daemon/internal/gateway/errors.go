package gateway

import (
	"net/http"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// Errors the gateway answers before routing. None of them names anything
// the client sent: the description is fixed, so nothing is reflected.
var (
	// errConnect refuses CONNECT: the gateway is not a forward proxy.
	errConnect = apierror.New(http.StatusBadRequest, "invalid_request",
		"CONNECT is not supported: the gateway is not a proxy")
	// errTargetForm refuses a request target that is not a path
	// (authority-form, asterisk-form).
	errTargetForm = apierror.New(http.StatusBadRequest, "invalid_request",
		"the request target must be an absolute path")
	// errNotCanonical refuses a path with an empty, "." or ".." segment, an
	// encoded '/' or a control character.
	errNotCanonical = apierror.New(http.StatusBadRequest, "invalid_request",
		"the request path must be canonical: no empty, dot or dot-dot segment, no encoded slash, no control character")
)

// writeError sends err in the JSON error shape. apierror.Write copies the
// error before adding the request id, so the shared values above are never
// changed.
func writeError(w http.ResponseWriter, r *http.Request, err error) { apierror.Write(w, r, err) }
