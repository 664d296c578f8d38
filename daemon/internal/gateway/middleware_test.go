package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// testGateway is a Gateway with only what the middlewares use.
func testGateway(log zerolog.Logger) *Gateway {
	return &Gateway{log: log, ids: newIDSource(rand.Reader)}
}

// decodeError parses a JSON error body.
func decodeError(t *testing.T, rec *httptest.ResponseRecorder) apierror.Error {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q, want application/json; body %q", ct, rec.Body.String())
	}
	var e apierror.Error
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("body %q is not the JSON error shape: %v", rec.Body.String(), err)
	}
	return e
}

func isHexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func TestRequestID(t *testing.T) {
	g := testGateway(zerolog.Nop())
	tests := []struct {
		name     string
		incoming []string // X-Request-Id values sent
		keep     bool
	}{
		{"ok/valid-kept", []string{"client-id-42"}, true},
		{"ok/64-chars-kept", []string{strings.Repeat("A", 64)}, true},
		{"fail/missing-replaced", nil, false},
		{"fail/empty-replaced", []string{""}, false},
		{"fail/too-long-replaced", []string{strings.Repeat("A", 65)}, false},
		{"fail/invalid-replaced", []string{"id with spaces"}, false},
		{"fail/injection-replaced", []string{"x\r\nSet-Cookie: a=b"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen []string
			h := g.requestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = r.Header.Values(apierror.RequestIDHeader)
			}))
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			for _, v := range tc.incoming {
				req.Header.Add(apierror.RequestIDHeader, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(apierror.RequestIDHeader)
			if len(seen) != 1 || seen[0] != got {
				t.Fatalf("handler saw %q, response has %q", seen, got)
			}
			if tc.keep {
				if got != tc.incoming[0] {
					t.Fatalf("id %q, want the client's %q", got, tc.incoming[0])
				}
				return
			}
			if !isHexID(got) {
				t.Fatalf("replacement id %q is not 32 hex characters", got)
			}
		})
	}
	t.Run("fail/no-id-drawn-fails-the-request", func(t *testing.T) {
		var logBuf bytes.Buffer
		g := &Gateway{log: zerolog.New(&logBuf), ids: newIDSource(failReader{})}
		called := false
		h := g.requestID(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header.Set(apierror.RequestIDHeader, "not valid!") // replaced, so a draw is needed
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if called || rec.Code != http.StatusInternalServerError {
			t.Fatalf("status %d, handler called %v; want 500 and not called", rec.Code, called)
		}
		if e := decodeError(t, rec); e.Code != "internal_error" || e.RequestID != "" {
			t.Fatalf("error %+v", e)
		}
		if v, ok := rec.Header()[apierror.RequestIDHeader]; ok {
			t.Fatalf("X-Request-Id %q sent without a drawn id", v)
		}
		if strings.Contains(rec.Body.String(), "not valid") {
			t.Fatalf("the client's invalid id is reflected: %s", rec.Body)
		}
		if !strings.Contains(logBuf.String(), "drbg failed") {
			t.Fatalf("the cause is not logged: %s", logBuf.String())
		}
	})
	t.Run("ok/error-body-carries-id", func(t *testing.T) {
		h := g.requestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			apierror.Write(w, r, apierror.NotFound("nothing"))
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
		if e := decodeError(t, rec); e.RequestID == "" || e.RequestID != rec.Header().Get(apierror.RequestIDHeader) {
			t.Fatalf("body request_id %q, header %q", e.RequestID, rec.Header().Get(apierror.RequestIDHeader))
		}
	})
}

// countingReader counts Read calls over crypto/rand.
type countingReader struct{ reads atomic.Int32 }

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return rand.Read(p)
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("drbg failed") }

// flakyReader fails its first fail reads, then reads crypto/rand.
type flakyReader struct{ fail int }

func (f *flakyReader) Read(p []byte) (int, error) {
	if f.fail > 0 {
		f.fail--
		return 0, errors.New("drbg failed")
	}
	return rand.Read(p)
}

func TestIDSource(t *testing.T) {
	t.Run("ok/unique", func(t *testing.T) {
		s := newIDSource(rand.Reader)
		seen := map[string]bool{}
		for i := 0; i < 5000; i++ {
			id, err := s.next()
			if err != nil || !isHexID(id) || seen[id] {
				t.Fatalf("id %d: %q repeated or malformed", i, id)
			}
			seen[id] = true
		}
	})
	t.Run("ok/reads-in-batches", func(t *testing.T) {
		r := &countingReader{}
		s := newIDSource(r)
		for i := 0; i < 256; i++ {
			_, _ = s.next()
		}
		if r.reads.Load() != 1 {
			t.Fatalf("%d reads for 256 ids, want 1", r.reads.Load())
		}
		_, _ = s.next()
		if r.reads.Load() != 2 {
			t.Fatalf("%d reads for 257 ids, want 2", r.reads.Load())
		}
	})
	t.Run("fail/broken-source-is-an-error", func(t *testing.T) {
		if id, err := newIDSource(failReader{}).next(); err == nil || id != "" {
			t.Fatalf("id %q, error %v from a broken source", id, err)
		}
	})
	t.Run("ok/recovers-after-a-failed-draw", func(t *testing.T) {
		r := &flakyReader{fail: 1}
		s := newIDSource(r)
		if _, err := s.next(); err == nil {
			t.Fatal("the failing draw gave an id")
		}
		if id, err := s.next(); err != nil || !isHexID(id) {
			t.Fatalf("id %q, error %v after the source recovered", id, err)
		}
	})
	t.Run("ok/concurrent", func(t *testing.T) {
		s := newIDSource(rand.Reader)
		const workers, each = 8, 300
		out := make(chan string, workers*each)
		done := make(chan struct{})
		for w := 0; w < workers; w++ {
			go func() {
				for i := 0; i < each; i++ {
					id, err := s.next()
					if err != nil {
						id = "error: " + err.Error()
					}
					out <- id
				}
				done <- struct{}{}
			}()
		}
		for w := 0; w < workers; w++ {
			<-done
		}
		close(out)
		seen := map[string]bool{}
		for id := range out {
			if seen[id] || !isHexID(id) {
				t.Fatalf("id %q handed out twice", id)
			}
			seen[id] = true
		}
	})
}

func TestRecoverer(t *testing.T) {
	var logBuf bytes.Buffer
	g := testGateway(zerolog.New(&logBuf))
	t.Run("fail/panic-is-500-without-stack", func(t *testing.T) {
		h := g.requestID(g.recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("secret-detail-123")
		})))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", rec.Code)
		}
		e := decodeError(t, rec)
		if e.Code != "internal_error" || e.RequestID == "" {
			t.Fatalf("error %+v", e)
		}
		body := rec.Body.String()
		for _, leak := range []string{"secret-detail-123", "goroutine", ".go:"} {
			if strings.Contains(body, leak) {
				t.Fatalf("response leaks %q: %s", leak, body)
			}
		}
		if !strings.Contains(logBuf.String(), "secret-detail-123") {
			t.Fatal("the panic is not logged for the operator")
		}
	})
	t.Run("ok/abort-handler-propagates", func(t *testing.T) {
		h := g.recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler re-panicked", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	})
	t.Run("ok/no-panic-passes-through", func(t *testing.T) {
		h := g.recoverer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != http.StatusTeapot {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

func TestAccessLog(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		level  string
	}{
		{"ok/info", http.StatusTeapot, "tea", "info"},
		{"ok/implicit-200", 0, "hello", "info"},
		{"fail/5xx-is-warn", http.StatusBadGateway, "", "warn"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			g := testGateway(zerolog.New(&buf))
			h := g.requestID(g.accessLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.status != 0 {
					w.WriteHeader(tc.status)
				}
				_, _ = io.WriteString(w, tc.body)
			})))
			req := httptest.NewRequest(http.MethodPost, "/crypto/hash?secret=1", nil)
			req.RemoteAddr = "192.0.2.7:4242"
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var line struct {
				Level, Method, Path, Remote string
				RequestID                   string `json:"request_id"`
				Status                      int
				Bytes                       int64
			}
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			want := tc.status
			if want == 0 {
				want = http.StatusOK
			}
			if line.Level != tc.level || line.Status != want || line.Bytes != int64(len(tc.body)) || line.Method != "POST" ||
				line.Path != "/crypto/hash" || line.Remote != "192.0.2.7" || line.RequestID != rec.Header().Get(apierror.RequestIDHeader) {
				t.Fatalf("log line %+v", line)
			}
			if strings.Contains(buf.String(), "secret=1") {
				t.Fatal("the query string is logged")
			}
		})
	}
}

func TestLimiterAllow(t *testing.T) {
	l := newLimiter(2, 2) // 2 per second, burst 2
	base := time.Now()
	tests := []struct {
		name string
		ip   string
		at   time.Duration
		ok   bool
	}{
		{"ok/burst-1", "a", 0, true},
		{"ok/burst-2", "a", 0, true},
		{"fail/burst-spent", "a", 0, false},
		{"ok/other-client", "b", 0, true},
		{"fail/not-refilled-yet", "a", 400 * time.Millisecond, false},
		{"ok/refilled", "a", 600 * time.Millisecond, true},
		{"fail/spent-again", "a", 600 * time.Millisecond, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, wait := l.allow(tc.ip, base.Add(tc.at))
			if ok != tc.ok {
				t.Fatalf("allow = %v (wait %v), want %v", ok, wait, tc.ok)
			}
			if !ok && (wait <= 0 || wait > 500*time.Millisecond) {
				t.Fatalf("wait %v, want within one token interval", wait)
			}
			if ok && wait != 0 {
				t.Fatalf("allowed with wait %v", wait)
			}
		})
	}
	t.Run("ok/idle-clients-forgotten", func(t *testing.T) {
		if len(l.clients) != 2 {
			t.Fatalf("%d clients tracked, want 2", len(l.clients))
		}
		l.allow("c", base.Add(6*time.Minute))
		if _, ok := l.clients["a"]; ok || len(l.clients) != 1 {
			t.Fatalf("idle clients kept after the sweep: %d tracked", len(l.clients))
		}
		// A forgotten client starts with a full bucket.
		if ok, _ := l.allow("a", base.Add(6*time.Minute)); !ok {
			t.Fatal("a forgotten client is refused")
		}
	})
}

func TestLimiterCap(t *testing.T) {
	// Many IPv6 sources of one /64, each sending once: the table never
	// holds more than the cap, and clients still being limited are.
	base := time.Now()
	addr := func(i int) string { return fmt.Sprintf("2001:db8:1:2:%x:%x::1", i>>16, i&0xffff) }
	t.Run("ok/bounded-under-many-sources", func(t *testing.T) {
		l := newLimiter(1, 1) // refill in 1s
		l.max = 1000
		for i := 0; i < 20000; i++ {
			// All within one refill time: nothing is idle, so eviction
			// is what keeps the table bounded.
			if ok, _ := l.allow(addr(i), base.Add(time.Duration(i)*time.Microsecond)); !ok {
				t.Fatalf("source %d refused on its first request", i)
			}
			if len(l.clients) > l.max {
				t.Fatalf("%d clients tracked after %d sources, cap %d", len(l.clients), i+1, l.max)
			}
		}
	})
	t.Run("ok/idle-dropped-before-active", func(t *testing.T) {
		l := newLimiter(0.1, 1) // refill in 10s
		l.max = 100
		l.sweep = base
		if ok, _ := l.allow("192.0.2.1", base); !ok {
			t.Fatal("first request refused")
		}
		// 99 sources whose buckets have refilled by the time the table is full.
		for i := 0; i < 99; i++ {
			l.allow(addr(i), base.Add(-20*time.Second))
		}
		// 50 newcomers: the idle entries make room, the active one stays.
		at := base.Add(2 * time.Second)
		for i := 100; i < 150; i++ {
			l.allow(addr(i), at)
		}
		for i := 0; i < 99; i++ {
			if _, ok := l.clients[addr(i)]; ok {
				t.Fatalf("idle source %d kept while the table was full", i)
			}
		}
		if ok, _ := l.allow("192.0.2.1", at); ok {
			t.Fatal("an active, limited client was evicted while idle entries were there to drop")
		}
		if len(l.clients) != 51 {
			t.Fatalf("%d clients tracked, want the 51 active ones", len(l.clients))
		}
	})
}

func TestRateLimitMiddleware(t *testing.T) {
	g := testGateway(zerolog.Nop())
	g.limiter = newLimiter(0.001, 3) // no refill within the test
	var served atomic.Int32
	h := g.requestID(g.rateLimit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) })))
	do := func(remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-For", "198.51.100.1") // not trusted
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	tests := []struct {
		name   string
		remote string
		status int
	}{
		{"ok/burst-1", "192.0.2.1:1000", 200},
		{"ok/burst-2-other-port", "192.0.2.1:1001", 200},
		{"ok/burst-3", "192.0.2.1:1002", 200},
		{"fail/limited", "192.0.2.1:1003", 429},
		{"ok/other-client", "192.0.2.2:1000", 200},
		{"ok/ipv6-client", "[2001:db8::1]:1000", 200},
		{"ok/no-port-remote", "192.0.2.3", 200},
		{"fail/still-limited", "192.0.2.1:1004", 429},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := served.Load()
			rec := do(tc.remote)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status == 200 {
				if served.Load() != before+1 {
					t.Fatal("handler not called")
				}
				return
			}
			if served.Load() != before {
				t.Fatal("a limited request reached the handler")
			}
			e := decodeError(t, rec)
			secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
			if e.Code != "rate_limited" || err != nil || secs < 1 || e.RequestID == "" {
				t.Fatalf("error %+v, Retry-After %q", e, rec.Header().Get("Retry-After"))
			}
		})
	}
	t.Run("ok/disabled-passes-through", func(t *testing.T) {
		g := testGateway(zerolog.Nop()) // no limiter: rate limiting disabled
		h := g.rateLimit(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		for i := 0; i < 100; i++ {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("request %d: status %d with rate limiting disabled", i, rec.Code)
			}
		}
	})
}

func TestClientIP(t *testing.T) {
	tests := []struct{ name, remote, want string }{
		{"ok/ipv4", "192.0.2.1:80", "192.0.2.1"},
		{"ok/ipv6", "[::1]:80", "::1"},
		{"fail/no-port-kept-as-is", "192.0.2.1", "192.0.2.1"},
		{"fail/empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			if got := clientIP(r); got != tc.want {
				t.Fatalf("clientIP(%q) = %q, want %q", tc.remote, got, tc.want)
			}
		})
	}
}
