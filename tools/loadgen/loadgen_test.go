package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// counting wraps h and counts the requests that reached it.
type counting struct {
	n atomic.Int64
	h http.HandlerFunc
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h(w, r)
}

func ok200(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"ok":true}`) }

// checkSums asserts the internal accounting of a result adds up.
func checkSums(t *testing.T, r *Result) {
	t.Helper()
	statuses, errs, ok := 0, 0, 0
	for code, n := range r.Status {
		statuses += n
		if code >= 200 && code < 300 {
			ok += n
		}
	}
	for _, n := range r.Errors {
		errs += n
	}
	if statuses != r.Responses || errs != r.Failed || ok != r.OK || r.Requests != r.Responses+r.Failed {
		t.Fatalf("sums disagree: requests %d responses %d (statuses %d) failed %d (errors %d) ok %d (2xx %d)",
			r.Requests, r.Responses, statuses, r.Failed, errs, r.OK, ok)
	}
	if len(r.Latencies) != r.Responses {
		t.Fatalf("latencies %d, responses %d", len(r.Latencies), r.Responses)
	}
	for i := 1; i < len(r.Latencies); i++ {
		if r.Latencies[i] < r.Latencies[i-1] {
			t.Fatalf("latencies not sorted at %d", i)
		}
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
		cfg  Config
		want func(t *testing.T, r *Result, hits int64)
	}{
		{
			name: "ok/get",
			h:    ok200,
			cfg:  Config{Method: http.MethodGet, Requests: 300, Concurrency: 8},
			want: func(t *testing.T, r *Result, hits int64) {
				if r.Requests != 300 || r.OK != 300 || r.Status[200] != 300 || hits != 300 {
					t.Fatalf("requests %d ok %d status %v hits %d, want 300 each", r.Requests, r.OK, r.Status, hits)
				}
				if r.BytesIn != 300*int64(len(`{"ok":true}`)) {
					t.Fatalf("bytes in %d", r.BytesIn)
				}
			},
		},
		{
			name: "ok/post-body-and-headers",
			h: func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if r.Method != http.MethodPost || string(b) != `{"a":1}` || r.Header.Get("X-Bench") != "yes" ||
					r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Authorization") != "Bearer t" {
					w.WriteHeader(http.StatusBadRequest)
				}
			},
			cfg: Config{Method: http.MethodPost, Body: []byte(`{"a":1}`), Requests: 50, Concurrency: 4,
				Header: http.Header{"X-Bench": {"yes"}, "Authorization": {"Bearer t"}}},
			want: func(t *testing.T, r *Result, hits int64) {
				if r.Status[200] != 50 {
					t.Fatalf("status %v, want 50×200", r.Status)
				}
			},
		},
		{
			name: "ok/explicit-content-type-kept",
			h: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Content-Type") != "text/plain" {
					w.WriteHeader(http.StatusBadRequest)
				}
			},
			cfg: Config{Method: http.MethodPost, Body: []byte("x"), Requests: 10, Concurrency: 2,
				Header: http.Header{"Content-Type": {"text/plain"}}},
			want: func(t *testing.T, r *Result, hits int64) {
				if r.Status[200] != 10 {
					t.Fatalf("status %v, want 10×200", r.Status)
				}
			},
		},
		{
			name: "ok/statuses-counted",
			h: func() http.HandlerFunc {
				var i atomic.Int64
				return func(w http.ResponseWriter, r *http.Request) {
					switch i.Add(1) % 3 {
					case 0:
						w.WriteHeader(http.StatusServiceUnavailable)
					case 1:
						w.WriteHeader(http.StatusBadRequest)
					}
				}
			}(),
			cfg: Config{Method: http.MethodGet, Requests: 99, Concurrency: 5},
			want: func(t *testing.T, r *Result, hits int64) {
				if r.Status[200] != 33 || r.Status[400] != 33 || r.Status[503] != 33 || r.OK != 33 || r.Failed != 0 {
					t.Fatalf("status %v ok %d failed %d, want 33 of each", r.Status, r.OK, r.Failed)
				}
			},
		},
		{
			name: "ok/redirect-not-followed",
			h: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			},
			cfg: Config{Method: http.MethodGet, Requests: 10, Concurrency: 2},
			want: func(t *testing.T, r *Result, hits int64) {
				if r.Status[302] != 10 || hits != 10 {
					t.Fatalf("status %v hits %d, want 10×302", r.Status, hits)
				}
			},
		},
		{
			name: "ok/rate-paced",
			h:    ok200,
			cfg:  Config{Method: http.MethodGet, Requests: 20, Concurrency: 4, Rate: 400},
			want: func(t *testing.T, r *Result, hits int64) {
				if r.Requests != 20 || r.OK != 20 || hits != 20 {
					t.Fatalf("requests %d ok %d hits %d, want 20", r.Requests, r.OK, hits)
				}
				// Request i starts no sooner than i/400 s after the first:
				// the last of 20 at 47.5 ms (a slow machine only adds to it).
				if min := 19 * time.Second / 400; r.Elapsed < min {
					t.Fatalf("20 requests at 400/s took %v, less than %v: not paced", r.Elapsed, min)
				}
			},
		},
		{
			name: "ok/duration",
			h:    ok200,
			cfg:  Config{Method: http.MethodGet, Duration: 50 * time.Millisecond, Concurrency: 4},
			want: func(t *testing.T, r *Result, hits int64) {
				if r.Requests == 0 || int64(r.Requests) != hits || r.Failed != 0 {
					t.Fatalf("requests %d hits %d failed %d", r.Requests, hits, r.Failed)
				}
			},
		},
		{
			name: "ok/duration-capped-by-n",
			h:    ok200,
			cfg:  Config{Method: http.MethodGet, Duration: time.Hour, Requests: 30, Concurrency: 4},
			want: func(t *testing.T, r *Result, hits int64) {
				if r.Requests != 30 || hits != 30 {
					t.Fatalf("requests %d hits %d, want 30", r.Requests, hits)
				}
			},
		},
		{
			name: "ok/duration-and-rate",
			h:    ok200,
			cfg:  Config{Method: http.MethodGet, Duration: 30 * time.Millisecond, Rate: 1000, Concurrency: 2},
			want: func(t *testing.T, r *Result, hits int64) {
				if int64(r.Requests) != hits || r.Failed != 0 {
					t.Fatalf("requests %d hits %d failed %d", r.Requests, hits, r.Failed)
				}
				// At 1000/s at most 31 requests fall due within 30 ms.
				if r.Requests > 31+2 {
					t.Fatalf("%d requests in 30 ms at 1000/s: not paced", r.Requests)
				}
			},
		},
		{
			name: "ok/connection-dropped",
			h: func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			},
			cfg: Config{Method: http.MethodPost, Body: []byte("{}"), Requests: 12, Concurrency: 3},
			want: func(t *testing.T, r *Result, hits int64) {
				if r.Failed != 12 || r.Responses != 0 {
					t.Fatalf("failed %d responses %d errors %v, want 12 failures", r.Failed, r.Responses, r.Errors)
				}
				if r.ErrorSamples == nil || len(r.ErrorSamples) != len(r.Errors) {
					t.Fatalf("samples %v for errors %v", r.ErrorSamples, r.Errors)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &counting{h: tt.h}
			srv := httptest.NewServer(c)
			defer srv.Close()
			cfg := tt.cfg
			cfg.URL = srv.URL + "/x"
			cfg.Timeout = 5 * time.Second
			r, err := Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkSums(t, r)
			tt.want(t, r, c.n.Load())
		})
	}
}

func TestRunConnRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r, err := Run(t.Context(), Config{URL: "http://" + addr + "/", Method: http.MethodGet, Requests: 10, Concurrency: 2, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, r)
	if r.Errors["conn_refused"] != 10 {
		t.Fatalf("errors %v, want 10 conn_refused", r.Errors)
	}
}

func TestRunTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(ok200))
	defer srv.Close()
	trusted := x509.NewCertPool()
	trusted.AddCert(srv.Certificate())
	tests := []struct {
		name    string
		roots   *x509.CertPool
		wantOK  int
		wantTLS int
	}{
		{"ok/trusted-ca", trusted, 8, 0},
		{"fail/untrusted", x509.NewCertPool(), 0, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Run(t.Context(), Config{URL: srv.URL, Method: http.MethodGet, Requests: 8, Concurrency: 2, Timeout: 5 * time.Second, RootCAs: tt.roots})
			if err != nil {
				t.Fatal(err)
			}
			checkSums(t, r)
			if r.OK != tt.wantOK || r.Errors["tls"] != tt.wantTLS {
				t.Fatalf("ok %d errors %v, want ok %d tls %d", r.OK, r.Errors, tt.wantOK, tt.wantTLS)
			}
		})
	}
}

func TestRunInterrupted(t *testing.T) {
	release := make(chan struct{})
	var arrived atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan *Result)
	go func() {
		r, err := Run(ctx, Config{URL: srv.URL, Method: http.MethodGet, Requests: 1000, Concurrency: 4, Timeout: time.Minute})
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	for arrived.Load() < 4 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	r := <-done
	checkSums(t, r)
	if r.Errors["canceled"] != 4 || r.Requests != 4 {
		t.Fatalf("requests %d errors %v, want 4 canceled", r.Requests, r.Errors)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	good := Config{URL: "http://127.0.0.1:1/", Method: http.MethodGet, Requests: 1, Concurrency: 1, Timeout: time.Second}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"fail/no-url", func(c *Config) { c.URL = "" }},
		{"fail/bad-scheme", func(c *Config) { c.URL = "ftp://host/" }},
		{"fail/no-host", func(c *Config) { c.URL = "http:///path" }},
		{"fail/unparsable-url", func(c *Config) { c.URL = "http://[::1" }},
		{"fail/method", func(c *Config) { c.Method = "DELETE" }},
		{"fail/concurrency", func(c *Config) { c.Concurrency = 0 }},
		{"fail/negative-n", func(c *Config) { c.Requests = -1 }},
		{"fail/no-n-no-duration", func(c *Config) { c.Requests = 0 }},
		{"fail/negative-duration", func(c *Config) { c.Duration = -time.Second }},
		{"fail/negative-rate", func(c *Config) { c.Rate = -1 }},
		{"fail/timeout", func(c *Config) { c.Timeout = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			if _, err := Run(t.Context(), c); !errors.Is(err, errUsage) {
				t.Fatalf("err = %v, want errUsage", err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"ok/canceled", fmt.Errorf("get: %w", context.Canceled), "canceled"},
		{"ok/deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), "timeout"},
		{"ok/net-timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, "timeout"},
		{"ok/refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "conn_refused"},
		{"ok/reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, "conn_reset"},
		{"ok/broken-pipe", &net.OpError{Op: "write", Err: syscall.EPIPE}, "broken_pipe"},
		{"ok/dns", &net.DNSError{Err: "no such host", Name: "x"}, "dns"},
		{"ok/tls", fmt.Errorf("get: %w", x509.UnknownAuthorityError{}), "tls"},
		{"ok/eof", fmt.Errorf("get: %w", io.EOF), "eof"},
		{"ok/unexpected-eof", fmt.Errorf("get: %w", io.ErrUnexpectedEOF), "eof"},
		{"ok/other", errors.New("something else"), "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err); got != tt.want {
				t.Fatalf("classify(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// timeoutErr is a net.Error that timed out.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
