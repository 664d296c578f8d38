package plugin

import (
	"errors"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// WriteError answers a request that failed with err, in the platform's
// JSON error shape. An *apierror.Error in err's chain (a client's mistake,
// an unavailable dependency the plugin chose to report) is written as it
// is. Any other error is the plugin's own failure: the client gets the
// fixed 500 internal_error, and the cause is logged at error level with
// the request id, method and path, so an operator can find what the client
// only sees as "internal_error".
//
// The log line carries err.Error() and nothing of the request besides its
// id, method and path: never wrap a secret input (a key, a plaintext, a
// password) into an error.
//
// The logger is the plugin's (Env.Logger), which the SDK attaches to every
// request's context; outside a request served by the SDK (a handler's unit
// test) the cause is not logged.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *apierror.Error
	if err == nil || errors.As(err, &e) {
		apierror.Write(w, r, err)
		return
	}
	id := w.Header().Get(apierror.RequestIDHeader)
	if id == "" && r != nil {
		id = r.Header.Get(apierror.RequestIDHeader)
	}
	if r != nil {
		zerolog.Ctx(r.Context()).Error().Err(err).Str("request_id", id).Str("method", r.Method).
			Str("path", r.URL.Path).Msg("request failed: answered 500 internal_error")
	}
	apierror.Write(w, r, apierror.Internal())
}
