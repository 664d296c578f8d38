package plugin

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/gatewire"
)

// startWire serves h on a fresh unix socket; it returns the server and a
// dial function.
func startWire(t *testing.T, h http.Handler) (*wireServer, func() (net.Conn, *bufio.Reader)) {
	t.Helper()
	ln := unixListener(t)
	path := ln.Addr().String()
	s := newWireServer(h, zerolog.Nop())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return s, func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
}

func send(t *testing.T, c net.Conn, r *gatewire.Request) {
	t.Helper()
	if r.Scheme == "" {
		r.Scheme = "http"
	}
	if r.Host == "" {
		r.Host = "gw"
	}
	b, err := gatewire.AppendRequest(nil, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

func receive(t *testing.T, c net.Conn, br *bufio.Reader) *gatewire.Response {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	p, err := gatewire.ReadFrame(br, nil, 1<<20)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	r, err := gatewire.DecodeResponse(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantClosed expects the server to close the connection without answering.
func wantClosed(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the server answered; want the connection closed")
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the connection stayed open")
	}
}

func TestWireServesHandler(t *testing.T) {
	_, dial := startWire(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Seen", strings.Join([]string{r.Method, r.URL.Path, r.URL.RawQuery, r.Host,
			r.RemoteAddr, r.RequestURI, r.Header.Get("X-In"), r.Proto}, "|"))
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(strings.ToUpper(string(b))))
		w.(http.Flusher).Flush()
		w.Write([]byte("!"))
	}))
	c, br := dial()
	for i := 0; i < 3; i++ { // one connection, several exchanges
		send(t, c, &gatewire.Request{Method: "POST", URI: "/p/q?x=1", Host: "api.example", Remote: "192.0.2.1:5",
			Header: http.Header{"X-In": {"v"}}, Body: []byte("hello")})
		r := receive(t, c, br)
		if r.Status != 202 || string(r.Body) != "HELLO!" {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
		want := "POST|/p/q|x=1|api.example|192.0.2.1:5|/p/q?x=1|v|HTTP/1.1"
		if got := r.Header.Get("X-Seen"); got != want {
			t.Fatalf("handler saw %q, want %q", got, want)
		}
	}
}

func TestWireResponseLikeNetHTTP(t *testing.T) {
	_, dial := startWire(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sniff":
			w.Write([]byte("<html><body>x</body></html>"))
		case "/empty":
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
			w.Write([]byte("dropped"))
		case "/early":
			w.WriteHeader(http.StatusEarlyHints) // informational: not the answer
			w.WriteHeader(http.StatusTeapot)
			w.WriteHeader(http.StatusOK) // too late: ignored
		default:
			w.Header().Set("Content-Length", "999") // the frame says the length
			w.Write([]byte("body"))
		}
	}))
	c, br := dial()
	send(t, c, &gatewire.Request{Method: "GET", URI: "/sniff"})
	if r := receive(t, c, br); r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("sniffed %q", r.Header.Get("Content-Type"))
	}
	send(t, c, &gatewire.Request{Method: "GET", URI: "/nocontent"})
	if r := receive(t, c, br); r.Status != 204 || len(r.Body) != 0 {
		t.Fatalf("204: %d %q", r.Status, r.Body)
	}
	// HEAD: no body, and the length GET would have, as net/http says it:
	// the handler's own Content-Length, else what it wrote, else none.
	for uri, want := range map[string]string{"/x": "999", "/sniff": "27", "/empty": "", "/nocontent": ""} {
		send(t, c, &gatewire.Request{Method: "HEAD", URI: uri})
		if r := receive(t, c, br); len(r.Body) != 0 || r.Header.Get("Content-Length") != want {
			t.Fatalf("HEAD %s: %d %q, Content-Length %q, want %q", uri, r.Status, r.Body, r.Header.Get("Content-Length"), want)
		}
	}
	send(t, c, &gatewire.Request{Method: "HEAD", URI: "/sniff"})
	if r := receive(t, c, br); r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("HEAD sniffed %q", r.Header.Get("Content-Type"))
	}
	send(t, c, &gatewire.Request{Method: "GET", URI: "/early"})
	if r := receive(t, c, br); r.Status != http.StatusTeapot {
		t.Fatalf("status %d", r.Status)
	}
	send(t, c, &gatewire.Request{Method: "GET", URI: "/x"})
	if r := receive(t, c, br); r.Header.Get("Content-Length") != "" || string(r.Body) != "body" {
		t.Fatalf("got %v %q", r.Header, r.Body)
	}
}

func TestWireAbortAndPanicCloseTheConnection(t *testing.T) {
	_, dial := startWire(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("boom")
	}))
	for _, p := range []string{"/abort", "/panic"} {
		c, br := dial()
		send(t, c, &gatewire.Request{Method: "GET", URI: p})
		wantClosed(t, c, br)
	}
}

func TestWireMalformedFrameClosesTheConnection(t *testing.T) {
	_, dial := startWire(t, http.NotFoundHandler())
	for name, raw := range map[string][]byte{
		"not a frame": []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"bad payload": {0, 0, 0, 2, 'Q', 0xff},
		"oversized":   {0x7f, 0xff, 0xff, 0xff},
	} {
		t.Run(name, func(t *testing.T) {
			c, br := dial()
			c.Write(raw)
			wantClosed(t, c, br)
		})
	}
}

func TestWireShutdownFinishesActiveClosesIdle(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	s, dial := startWire(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		w.Write([]byte("done"))
	}))
	idle, idleBR := dial()
	send(t, idle, &gatewire.Request{Method: "GET", URI: "/fast"})
	receive(t, idle, idleBR)

	busy, busyBR := dial()
	send(t, busy, &gatewire.Request{Method: "GET", URI: "/slow"})
	<-started

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	wantClosed(t, idle, idleBR) // the idle connection goes at once
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if r := receive(t, busy, busyBR); string(r.Body) != "done" {
		t.Fatalf("in-flight request answered %q", r.Body)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wantClosed(t, busy, busyBR)
}

func TestWireShutdownDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	s, dial := startWire(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	}))
	c, br := dial()
	send(t, c, &gatewire.Request{Method: "GET", URI: "/hang"})
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	wantClosed(t, c, br)
}

type describeOnly struct{ caps []string }

func (d describeOnly) Describe() Descriptor {
	return Descriptor{Name: "t", Kind: "t", Version: "1.0.0", Routes: []string{"/t/"}, Capabilities: d.caps}
}

func (describeOnly) Configure(context.Context, *Env) (http.Handler, error) { return nil, nil }

// Describe reports the framing only when the gateway's unix socket exists,
// and never changes the plugin's own capability list.
func TestDescribeReportsWireCapability(t *testing.T) {
	own := make([]string, 1, 4)
	own[0] = "own"
	for _, c := range []struct {
		lns  int
		want []string
	}{{1, []string{"own"}}, {2, []string{"own", WireCapability}}} {
		lns := make([]net.Listener, c.lns)
		s := newPluginServer(describeOnly{caps: own}, lns, zerolog.Nop())
		resp, err := s.Describe(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(resp.Capabilities, ",") != strings.Join(c.want, ",") {
			t.Errorf("%d listeners: capabilities %v, want %v", c.lns, resp.Capabilities, c.want)
		}
		if own[:cap(own)][1] != "" {
			t.Fatal("Describe wrote into the plugin's capability slice")
		}
	}
}

// A slow handler's context ends when the gateway closes the connection
// (its client left): a queued slow operation does not wait for nobody.
func TestWireCancelsSlowHandlerWhenGatewayLeaves(t *testing.T) {
	cancelled := make(chan time.Duration, 1)
	_, dial := startWire(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case <-r.Context().Done():
			cancelled <- time.Since(start)
		case <-time.After(5 * time.Second):
			cancelled <- -1
		}
	}))
	c, _ := dial()
	send(t, c, &gatewire.Request{Method: "POST", URI: "/slow", Body: []byte("x")})
	time.Sleep(50 * time.Millisecond) // past watchDelay
	c.Close()
	if d := <-cancelled; d < 0 {
		t.Fatal("the handler's context was not cancelled after the gateway closed the connection")
	}
}

// A slow handler on a connection that stays open answers normally, and the
// connection keeps serving afterwards.
func TestWireSlowHandlerKeepsConnection(t *testing.T) {
	_, dial := startWire(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(3 * watchDelay)
		}
		if r.Context().Err() != nil {
			t.Error("context cancelled on a live connection")
		}
		w.Write([]byte(r.URL.Path))
	}))
	c, br := dial()
	for _, p := range []string{"/slow", "/fast", "/slow", "/fast"} {
		send(t, c, &gatewire.Request{Method: "GET", URI: p})
		if r := receive(t, c, br); string(r.Body) != p {
			t.Fatalf("%s answered %q", p, r.Body)
		}
	}
}
