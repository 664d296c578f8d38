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

func (s *idSource) next() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.off == len(s.buf) {
		if _, err := io.ReadFull(s.rand, s.buf[:]); err != nil {
			return ""
		}
		s.off = 0
	}
	id := hex.EncodeToString(s.buf[s.off : s.off+16])
	s.off += 16
	return id
}

// requestID sets X-Request-Id on the request (to the plugin) and response.
func (g *Gateway) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(apierror.RequestIDHeader)
		if !apierror.ValidRequestID(id) {
			id = g.ids.next()
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

// limiter keeps one token bucket per client IP, forgetting idle clients.
type limiter struct {
	rps   rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*client
	sweep   time.Time
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(rps float64, burst int) *limiter {
	return &limiter{rps: rate.Limit(rps), burst: burst, clients: map[string]*client{}, sweep: time.Now()}
}

// allow reports whether ip may proceed, and if not, after how long.
func (l *limiter) allow(ip string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		for k, c := range l.clients {
			if now.Sub(c.seen) > 5*time.Minute {
				delete(l.clients, k)
			}
		}
		l.sweep = now
	}
	c, ok := l.clients[ip]
	if !ok {
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
