package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
)

func TestTargetError(t *testing.T) {
	tests := []struct {
		name, method, path, raw string
		want                    error
	}{
		{"ok/root", "GET", "/", "", nil},
		{"ok/route", "POST", "/crypto/hash", "", nil},
		{"ok/trailing-slash", "POST", "/echo/", "", nil},
		{"ok/dots-inside-a-segment", "GET", "/a/..b/c.d/...", "", nil},
		{"ok/encoded-other-than-slash", "GET", "/a b", "/a%20b", nil},
		{"fail/connect-authority-form", "CONNECT", "", "", errConnect},
		{"fail/connect-path-form", "CONNECT", "/crypto/hash", "", errConnect},
		{"fail/asterisk-form", "OPTIONS", "*", "", errTargetForm},
		{"fail/empty", "GET", "", "", errTargetForm},
		{"fail/relative", "GET", "crypto/hash", "", errTargetForm},
		{"fail/dot-dot", "GET", "/crypto/../health", "", errNotCanonical},
		{"fail/encoded-dot-dot", "GET", "/crypto/../health", "/crypto/%2e%2e/health", errNotCanonical},
		{"fail/dot", "GET", "/./health", "", errNotCanonical},
		{"fail/trailing-dot", "GET", "/health/.", "", errNotCanonical},
		{"fail/trailing-dot-dot", "GET", "/crypto/..", "", errNotCanonical},
		{"fail/double-slash-leading", "POST", "//crypto/hash", "", errNotCanonical},
		{"fail/double-slash-inside", "POST", "/crypto//hash", "", errNotCanonical},
		{"fail/double-slash-trailing", "POST", "/echo//", "", errNotCanonical},
		{"fail/encoded-slash", "POST", "/crypto/hash", "/crypto%2fhash", errNotCanonical},
		{"fail/encoded-slash-upper", "POST", "/crypto/hash", "/crypto%2Fhash", errNotCanonical},
		{"fail/nul", "GET", "/a\x00", "/a%00", errNotCanonical},
		{"fail/newline", "GET", "/a\nb", "/a%0Ab", errNotCanonical},
		{"fail/del", "GET", "/a\x7f", "/a%7F", errNotCanonical},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := targetError(tc.method, tc.path, tc.raw); got != tc.want {
				t.Fatalf("targetError(%q, %q, %q) = %v, want %v", tc.method, tc.path, tc.raw, got, tc.want)
			}
		})
	}
}

// FuzzTargetError: a target that passes is one no router cleans into a
// different path (gorilla/mux's cleanPath, path.Clean keeping a trailing
// slash), with no encoded '/' and no control byte.
func FuzzTargetError(f *testing.F) {
	for _, s := range []string{"/", "/crypto/hash", "//crypto/hash", "/crypto/%2e%2e/health", "/./health",
		"/crypto%2fhash", "/echo/", "/a%00", "*", "host:443", "/a/b/../c", "/%2e/", "/a%2F"} {
		f.Add(http.MethodGet, s)
	}
	f.Add(http.MethodConnect, "host:443")
	f.Fuzz(func(t *testing.T, method, target string) {
		// As net/http parses a request line's target.
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: h\r\n\r\n")))
		if err != nil {
			return
		}
		p, raw := req.URL.Path, req.URL.RawPath
		if targetError(req.Method, p, raw) != nil {
			return
		}
		clean := path.Clean(p)
		if strings.HasSuffix(p, "/") && clean != "/" {
			clean += "/"
		}
		if clean != p || req.Method == http.MethodConnect {
			t.Fatalf("accepted %s %q (path %q), which cleans to %q", req.Method, target, p, clean)
		}
		if strings.Contains(strings.ToLower(req.URL.EscapedPath()), "%2f") {
			t.Fatalf("accepted an encoded slash: %q", target)
		}
		for i := 0; i < len(p); i++ {
			if p[i] < 0x20 || p[i] == 0x7f {
				t.Fatalf("accepted a control byte: %q", target)
			}
		}
	})
}

// rawRequest serves one request line through the whole chain as net/http
// would parse it off the wire (httptest.NewRequest parses the target as a
// request line does).
func rawRequest(g *Gateway, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	g.Handler().ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader("{}")))
	return rec
}

func TestGatewayRequestTargets(t *testing.T) {
	g, _ := newChain(t, chainOpts{})
	tests := []struct {
		name, method, target string
		status               int
		code                 string
	}{
		{"ok/health", "GET", "/health", 200, ""},
		{"ok/query-may-hold-dots", "GET", "/health?x=/../a//b", 200, ""},
		{"ok/canonical-unknown-is-404", "POST", "/crypto/hash", 404, "not_found"},
		{"ok/absolute-form", "GET", "http://localhost/health", 200, ""},
		{"fail/dot-dot", "GET", "/crypto/../health", 400, "invalid_request"},
		{"fail/double-slash", "POST", "//crypto/hash", 400, "invalid_request"},
		{"fail/encoded-dot-dot", "GET", "/crypto/%2e%2e/health", 400, "invalid_request"},
		{"fail/encoded-dot-dot-upper", "GET", "/crypto/%2E%2E/health", 400, "invalid_request"},
		{"fail/dot", "GET", "/./health", 400, "invalid_request"},
		{"fail/encoded-slash", "POST", "/crypto%2fhash", 400, "invalid_request"},
		{"fail/encoded-nul", "GET", "/health%00", 400, "invalid_request"},
		{"fail/connect", "CONNECT", "attacker.example:443", 400, "invalid_request"},
		{"fail/asterisk", "OPTIONS", "*", 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := rawRequest(g, tc.method, tc.target)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if loc := rec.Header().Get("Location"); loc != "" {
				t.Fatalf("Location %q: the gateway never redirects", loc)
			}
			if rec.Header().Get(calibration.HeaderAttestedTime) == "" || rec.Header().Get(apierror.RequestIDHeader) == "" {
				t.Fatalf("headers %v", rec.Header())
			}
			if tc.code == "" {
				return
			}
			e := decodeError(t, rec)
			if e.Code != tc.code || e.RequestID != rec.Header().Get(apierror.RequestIDHeader) {
				t.Fatalf("error %+v", e)
			}
			for _, echo := range []string{"attacker", "crypto", "health", "%2"} {
				if strings.Contains(e.Description, echo) {
					t.Fatalf("description %q reflects the request (%q)", e.Description, echo)
				}
			}
			if tc.status == 404 && e.Description != apierror.NoEndpoint().Description {
				t.Fatalf("404 %q is not the platform's one 404", e.Description)
			}
		})
	}
}

// TestAttestedHeadersOnEveryAnswer: docs/api.md promises the attested-time
// headers on every response while a snapshot is held, also on what the
// gateway refuses before routing.
func TestAttestedHeadersOnEveryAnswer(t *testing.T) {
	fresh, _ := newChain(t, chainOpts{})
	stale, _ := newChain(t, chainOpts{snapAge: time.Hour})
	noID, _ := newChain(t, chainOpts{rand: failReader{}})
	limited, _ := newChain(t, chainOpts{rateLimit: config.RateLimit{Enabled: true, RequestsPerSecond: 0.001, Burst: 1}})
	serve(limited, http.MethodGet, "/health", nil) // spends the burst
	tests := []struct {
		name         string
		g            *Gateway
		method, path string
		status       int
	}{
		{"ok/200", fresh, http.MethodGet, "/health", 200},
		{"fail/400-target", fresh, http.MethodGet, "/crypto/../health", 400},
		{"fail/404", fresh, http.MethodGet, "/nope", 404},
		{"fail/405", fresh, http.MethodDelete, "/clock/attestation", 405},
		{"fail/429", limited, http.MethodGet, "/health", 429},
		{"fail/500-no-request-id", noID, http.MethodGet, "/health", 500},
		{"fail/503-stale", stale, http.MethodGet, "/nope", 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(tc.g, tc.method, tc.path, nil)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if rec.Header().Get(calibration.HeaderAttestedTime) == "" || rec.Header().Get(calibration.HeaderAttestationAge) == "" {
				t.Fatalf("attested-time headers missing: %v", rec.Header())
			}
		})
	}
}

func TestMethodNotAllowedNamesMethods(t *testing.T) {
	g, _ := newChain(t, chainOpts{})
	for _, p := range []string{"/health", "/clock/attestation"} {
		t.Run("fail/post"+strings.ReplaceAll(p, "/", "-"), func(t *testing.T) {
			rec := serve(g, http.MethodPost, p, strings.NewReader("{}"))
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Fatalf("status %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
			}
			if e := decodeError(t, rec); e.Code != "method_not_allowed" || !strings.Contains(e.Description, "GET, HEAD") {
				t.Fatalf("error %+v does not name the allowed methods", e)
			}
		})
	}
}

// served is a gateway listening on a loopback port.
type served struct {
	addr   string
	tls    *tls.Config // client side; nil for plain HTTP
	scheme string
}

// serveOn runs g.Serve on a free port until the test ends.
func serveOn(t *testing.T, g *Gateway, useTLS bool) served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := served{addr: ln.Addr().String(), scheme: "http"}
	var srvTLS *tls.Config
	if useTLS {
		dir := t.TempDir()
		srvTLS = devTLS(t, dir, time.Now())
		pool, _ := caPool(t, dir)
		s.tls = &tls.Config{RootCAs: pool, ServerName: "localhost"}
		s.scheme = "https"
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln, srvTLS) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// dialRaw opens a raw connection speaking HTTP/1.1 (over TLS when s is).
func (s served) dialRaw(t *testing.T) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	if s.tls != nil {
		cfg := s.tls.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		c, err = tls.Dial("tcp", s.addr, cfg)
	} else {
		c, err = net.Dial("tcp", s.addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// Only a guard against a hung test; nothing is measured.
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// TestChunkedWithContentLengthCloses: RFC 9112 §6.3 item 3. A request
// carrying both Content-Length and Transfer-Encoding: chunked is answered,
// then the connection is closed; the request pipelined behind it is never
// served.
func TestChunkedWithContentLengthCloses(t *testing.T) {
	const next = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
	tests := []struct {
		name    string
		first   string
		closed  bool // the connection ends after the first answer
		firstSt int
	}{
		{"fail/content-length-and-chunked",
			"POST /crypto/hash HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", true, 404},
		{"fail/chunked-then-content-length",
			"POST /crypto/hash HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n2\r\n{}\r\n0\r\n\r\n", true, 404},
		{"fail/smuggled-request-in-the-body",
			"POST /nope HTTP/1.1\r\nHost: localhost\r\nContent-Length: 48\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /clock/attestation HTTP/1.1\r\nHost: x\r\n\r\n", true, 404},
		{"ok/chunked-alone-also-closes",
			"POST /crypto/hash HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", true, 404},
		{"ok/content-length-alone-keeps-alive",
			"POST /crypto/hash HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}", false, 404},
	}
	for _, useTLS := range []bool{false, true} {
		g, _ := newChain(t, chainOpts{}) // one Serve per gateway
		s := serveOn(t, g, useTLS)
		for _, tc := range tests {
			t.Run(tc.name+"/"+s.scheme, func(t *testing.T) {
				c := s.dialRaw(t)
				if _, err := io.WriteString(c, tc.first+next); err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(c)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.firstSt || resp.Header.Get(apierror.RequestIDHeader) == "" {
					t.Fatalf("first answer %d %v: %s", resp.StatusCode, resp.Header, body)
				}
				if resp.Close != tc.closed {
					t.Fatalf("first answer Connection: close = %v, want %v", resp.Close, tc.closed)
				}
				second, err := http.ReadResponse(br, nil)
				if tc.closed {
					if err == nil {
						second.Body.Close()
						t.Fatalf("a pipelined request was served (%d) after the connection should have closed", second.StatusCode)
					}
					if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("after the answer: %v, want the connection closed", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("the pipelined request on a kept-alive connection: %v", err)
				}
				second.Body.Close()
				if second.StatusCode != 200 {
					t.Fatalf("pipelined /health: %d", second.StatusCode)
				}
			})
		}
	}
}

// TestConnectOnTheWire: CONNECT to a host answers the JSON error, with no
// Location and nothing of the client's host in the answer.
func TestConnectOnTheWire(t *testing.T) {
	g, _ := newChain(t, chainOpts{})
	s := serveOn(t, g, false)
	c := s.dialRaw(t)
	if _, err := io.WriteString(c, "CONNECT attacker.example:443 HTTP/1.1\r\nHost: attacker.example:443\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	_ = resp.Header.Write(&raw)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("CONNECT: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp.Header.Get("Location") != "" || strings.Contains(raw.String()+string(body), "attacker") {
		t.Fatalf("CONNECT answer reflects the client's host:\n%s\n%s", raw.String(), body)
	}
}

// TestNonCanonicalOverHTTP2: a POST to //crypto/hash over HTTP/2 gets the
// JSON error, whatever the body size, and the connection keeps serving.
func TestNonCanonicalOverHTTP2(t *testing.T) {
	g, _ := newChain(t, chainOpts{})
	s := serveOn(t, g, true)
	tr := &http.Transport{TLSClientConfig: s.tls, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for _, size := range []int{2, 64 << 10, 4 << 20} {
		body := bytes.Repeat([]byte{'a'}, size)
		for _, target := range []string{"//crypto/hash", "/crypto/../health", "/crypto%2fhash"} {
			resp, err := client.Post(s.scheme+"://"+s.addr+target, "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatalf("POST %s with %d bytes: %v", target, size, err)
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("POST %s with %d bytes: reading the answer: %v", target, size, err)
			}
			if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusBadRequest || !bytes.Contains(raw, []byte(`"invalid_request"`)) {
				t.Fatalf("POST %s with %d bytes: %s %d %s", target, size, resp.Proto, resp.StatusCode, raw)
			}
		}
	}
	resp, err := client.Get(s.scheme + "://" + s.addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/health after the refused requests: %d", resp.StatusCode)
	}
}
