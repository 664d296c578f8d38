// Package calibration is the HTTP middleware that makes every Aunsorm route
// fail closed without a fresh, trusted clock attestation.
//
// The gateway and every plugin wrap their handlers with Middleware. On each
// request it asks the clock.Tracker (a lock-free read) whether the newest
// verified snapshot is younger than the maximum age: if not, the request is
// answered 503 with {"error": "stale_attestation"} or
// {"error": "untrusted_authority"} and never reaches the handler. Every
// response carries the attested time and its age in headers, and handlers
// read attested time from the request context with Now instead of the local
// clock.
package calibration

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/clock"
)

// Response headers set on every request that passes through Middleware.
const (
	// HeaderAttestedTime is attested Unix time in milliseconds.
	HeaderAttestedTime = "X-Aunsorm-Attested-Time-Ms"
	// HeaderAttestationAge is the age of the snapshot in milliseconds.
	HeaderAttestationAge = "X-Aunsorm-Attestation-Age-Ms"
)

// Error codes, part of the API.
const (
	CodeStale     = "stale_attestation"
	CodeUntrusted = "untrusted_authority"
)

type ctxKey struct{}

// Options customises Middleware.
type Options struct {
	// Exempt lists path prefixes served even without fresh time (health
	// endpoints that must report the failure instead of hiding behind it).
	// Headers are still set when a snapshot is held.
	Exempt []string
}

// Middleware returns the fail-closed calibration check around next.
func Middleware(t *clock.Tracker, opts Options) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := t.Status()
			if st.Snapshot.UnixTimeMs != 0 {
				h := w.Header()
				h.Set(HeaderAttestedTime, strconv.FormatInt(st.AttestedNow.UnixMilli(), 10))
				h.Set(HeaderAttestationAge, strconv.FormatInt(st.Age.Milliseconds(), 10))
			}
			if !st.Fresh && !exempt(r.URL.Path, opts.Exempt) {
				apierror.Write(w, r, Error(st.Err))
				return
			}
			if st.Fresh {
				r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st.AttestedNow))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Error maps a tracker failure to the API error the middleware sends.
func Error(err error) *apierror.Error {
	if errors.Is(err, clock.ErrUntrusted) {
		return apierror.Unavailable(CodeUntrusted, "the clock attestation is not signed by the pinned authority", 1)
	}
	return apierror.Unavailable(CodeStale, "no fresh clock attestation is available; the service fails closed", 1)
}

func exempt(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) {
			return true
		}
	}
	return false
}

// Now returns the attested time of the request, fixed when it passed the
// middleware; ok is false outside the middleware or on an exempt path
// served while stale. Handlers compare client-supplied times (JWT iat/exp,
// DPoP proofs) against this, never against the local clock.
func Now(ctx context.Context) (t time.Time, ok bool) {
	t, ok = ctx.Value(ctxKey{}).(time.Time)
	return t, ok
}
