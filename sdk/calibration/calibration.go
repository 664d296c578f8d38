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

// HeaderForwardedTime carries, from the gateway to a plugin, the attested
// time (Unix milliseconds) the gateway stamped on the request and answers
// in HeaderAttestedTime. It is internal: the gateway removes it from
// clients' requests and sets its own, and a plugin's TCP port drops it
// when the gateway reaches the plugin over its unix socket, as with
// X-Aunsorm-Caller. A Middleware with Options.TrustForwarded takes the
// request's attested time from it, so the plugin and the gateway speak of
// one time per request.
const HeaderForwardedTime = "X-Aunsorm-Gateway-Attested-Time-Ms"

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
	// TrustForwarded takes the request's attested time from
	// HeaderForwardedTime when the request carries it and it lies within
	// the validity of the snapshot held (see ForwardedTime); otherwise the
	// tracker's own attested time applies. Only a plugin behind the
	// gateway sets it; the gateway never trusts a client's header.
	TrustForwarded bool
}

// Middleware returns the fail-closed calibration check around next.
func Middleware(t *clock.Tracker, opts Options) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := t.Status()
			now := st.AttestedNow
			if opts.TrustForwarded {
				if v, ok := r.Header[HeaderForwardedTime]; ok {
					if ft, ok := ForwardedTime(v, st); ok {
						now = ft
					}
					r.Header.Del(HeaderForwardedTime) // handlers read Now
				}
			}
			if st.Snapshot.UnixTimeMs != 0 {
				h := w.Header()
				h.Set(HeaderAttestedTime, strconv.FormatInt(now.UnixMilli(), 10))
				h.Set(HeaderAttestationAge, strconv.FormatInt(st.Age.Milliseconds(), 10))
			}
			if !st.Fresh && !exempt(r.URL.Path, opts.Exempt) {
				apierror.Write(w, r, Error(st.Err))
				return
			}
			if st.Fresh {
				r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, now))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ForwardedTime parses the values of HeaderForwardedTime (exactly one
// decimal Unix time in milliseconds) and accepts it only while st is fresh
// and the time lies within the snapshot's validity: no earlier than one
// maximum age before the snapshot (the gateway may still stamp from the
// previous one) and no later than the snapshot's expiry. ok is false for
// anything else, and the tracker's own time then applies.
func ForwardedTime(values []string, st clock.Status) (t time.Time, ok bool) {
	if !st.Fresh || len(values) != 1 {
		return time.Time{}, false
	}
	v := values[0]
	if v == "" || len(v) > 19 || strings.TrimLeft(v, "0123456789") != "" {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	snap, maxAge := st.Snapshot.UnixTimeMs, st.MaxAge.Milliseconds()
	if ms < snap-maxAge || ms > snap+maxAge {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
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
// middleware (behind the gateway, with Options.TrustForwarded: the time
// the gateway stamped and answered in HeaderAttestedTime); ok is false outside the middleware or on an exempt path
// served while stale. Handlers compare client-supplied times (JWT iat/exp,
// DPoP proofs) against this, never against the local clock.
func Now(ctx context.Context) (t time.Time, ok bool) {
	t, ok = ctx.Value(ctxKey{}).(time.Time)
	return t, ok
}
