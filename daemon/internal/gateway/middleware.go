package gateway

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
)

// idSource hands out request ids: 16 random bytes from the daemon's DRBG,
// read in batches so the DRBG lock is taken once per 256 requests.
type idSource struct {
	mu   sync.Mutex
	rand io.Reader
	buf  [16 * 256]byte
	off  int
}

func newIDSource(r io.Reader) *idSource { return &idSource{rand: r, off: 16 * 256} }

// next returns a fresh id, or an error when the DRBG fails; the batch is
// then drawn again on the next call.
func (s *idSource) next() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.off == len(s.buf) {
		if _, err := io.ReadFull(s.rand, s.buf[:]); err != nil {
			return "", fmt.Errorf("gateway: request id: %w", err)
		}
		s.off = 0
	}
	id := hex.EncodeToString(s.buf[s.off : s.off+16])
	s.off += 16
	return id, nil
}

// requestID sets X-Request-Id on the request (to the plugin) and response.
// When no id can be drawn the request fails with 500: a request is never
// served, logged or audited without an id.
func (g *Gateway) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(apierror.RequestIDHeader)
		if !apierror.ValidRequestID(id) {
			var err error
			if id, err = g.ids.next(); err != nil {
				g.log.Error().Err(err).Str("path", r.URL.Path).Msg("request refused: no request id could be drawn")
				r.Header.Del(apierror.RequestIDHeader)
				apierror.Write(w, r, apierror.Internal())
				return
			}
			r.Header.Set(apierror.RequestIDHeader, id)
		}
		w.Header().Set(apierror.RequestIDHeader, id)
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status and size for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog writes one line per request.
func (g *Gateway) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		lvl := zerolog.InfoLevel
		if sw.status >= 500 {
			lvl = zerolog.WarnLevel
		}
		g.log.WithLevel(lvl).Str("request_id", w.Header().Get(apierror.RequestIDHeader)).
			Str("method", r.Method).Str("path", r.URL.Path).Int("status", sw.status).
			Int64("bytes", sw.bytes).Str("remote", clientIP(r)).
			Dur("duration", time.Since(start)).Msg("request")
	})
}

// recoverer turns a panic in the gateway into a 500 without a stack trace
// reaching the client.
func (g *Gateway) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				g.log.Error().Str("panic", fmt.Sprint(v)).Str("path", r.URL.Path).Msg("gateway panic")
				apierror.Write(w, r, apierror.Internal())
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// maxClients bounds the limiter's table (about 250 bytes an entry, so
// some 16 MiB at the cap): many source addresses, as one IPv6 host can
// use, cannot grow it without bound between sweeps.
const maxClients = 1 << 16

// limiter keeps one token bucket per client IP, forgetting idle clients.
//
// An entry idle for the bucket's full refill time (burst/rps) holds a full
// bucket, exactly what a new entry would start with, so dropping it loses
// nothing; that is what the sweep (once a minute) and a full table (at
// most once a second) drop first. A table still full of active clients
// evicts one entry chosen at random (Go's map order) for the newcomer:
// that client's next request starts a fresh bucket. Rate limiting stays
// per client and memory stays bounded; under a flood from more addresses
// than the cap, limiting is only as good as the cap allows (ADR 20).
type limiter struct {
	rps   rate.Limit
	burst int
	idle  time.Duration // refill time of an empty bucket
	max   int

	mu      sync.Mutex
	clients map[string]*client
	sweep   time.Time
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(rps float64, burst int) *limiter {
	idle := 5 * time.Minute
	if rps > 0 {
		if d := time.Duration(float64(burst) / rps * float64(time.Second)); d < idle {
			idle = d
		}
	}
	return &limiter{rps: rate.Limit(rps), burst: burst, idle: idle, max: maxClients,
		clients: map[string]*client{}, sweep: time.Now()}
}

// forgetIdle drops the entries whose bucket has refilled.
func (l *limiter) forgetIdle(now time.Time) {
	for k, c := range l.clients {
		if now.Sub(c.seen) >= l.idle {
			delete(l.clients, k)
		}
	}
	l.sweep = now
}

// allow reports whether ip may proceed, and if not, after how long.
func (l *limiter) allow(ip string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		l.forgetIdle(now)
	}
	c, ok := l.clients[ip]
	if !ok {
		// A full table sweeps at most once a second, so a flood of new
		// sources does not make every request walk the whole table.
		if len(l.clients) >= l.max && now.Sub(l.sweep) >= time.Second {
			l.forgetIdle(now)
		}
		if len(l.clients) >= l.max {
			for k := range l.clients {
				delete(l.clients, k)
				break
			}
		}
		c = &client{lim: rate.NewLimiter(l.rps, l.burst)}
		l.clients[ip] = c
	}
	c.seen = now
	res := c.lim.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

func (g *Gateway) rateLimit(next http.Handler) http.Handler {
	if g.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := g.limiter.allow(clientIP(r), time.Now()); !ok {
			secs := int(wait/time.Second) + 1
			apierror.Write(w, r, &apierror.Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
				Description: "too many requests from this client; retry after " + strconv.Itoa(secs) + "s", RetryAfter: secs})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// attestedTime sets the attested-time headers docs/api.md promises on
// every response while a snapshot is held. It runs before anything that
// can answer (a failed request id, the rate limit, a refused request
// target), so those answers carry them too; the calibration check further
// in sets them again for the requests it lets through.
func (g *Gateway) attestedTime(next http.Handler) http.Handler {
	tr := g.opts.Authority.Tracker()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := tr.Status(); st.Snapshot.UnixTimeMs != 0 {
			h := w.Header()
			h.Set(calibration.HeaderAttestedTime, strconv.FormatInt(st.AttestedNow.UnixMilli(), 10))
			h.Set(calibration.HeaderAttestationAge, strconv.FormatInt(st.Age.Milliseconds(), 10))
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the TCP peer address; X-Forwarded-For is not trusted.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// newStdLogger routes net/http's internal errors (TLS handshake failures
// and the like) into zerolog at debug level.
func newStdLogger(l zerolog.Logger) *log.Logger {
	return log.New(stdWriter{l}, "", 0)
}

type stdWriter struct{ l zerolog.Logger }

func (s stdWriter) Write(p []byte) (int, error) {
	s.l.Debug().Msg(string(p))
	return len(p), nil
}
