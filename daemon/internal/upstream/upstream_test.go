package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/sdk/gatewire"
)

// unixListener listens on a fresh unix socket in the test's temp dir.
func unixListener(t testing.TB) (net.Listener, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "up")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "p.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, path
}

// httpServer serves h on a unix socket and counts accepted connections.
func httpServer(t testing.TB, h http.Handler) (*Pool, *atomic.Int64) {
	t.Helper()
	ln, path := unixListener(t)
	var conns atomic.Int64
	srv := &http.Server{Handler: h, ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	p := New("unix", path, Options{})
	t.Cleanup(p.Close)
	return p, &conns
}

func req(method, uri string, body []byte) *Request {
	return &Request{Method: method, URI: uri, Host: "gw.test", Header: http.Header{"X-Test": {"1"}},
		Body: body, Deadline: time.Now().Add(5 * time.Second)}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return string(b)
}

func TestRoundTripAndReuse(t *testing.T) {
	p, conns := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+" "+r.URL.RequestURI()+" "+r.Host+" "+r.Header.Get("X-Test"))
		w.Write(bytes.ToUpper(b))
	}))
	for i := 0; i < 5; i++ {
		resp, err := p.Do(context.Background(), req("POST", "/a/b?x=1", []byte("hello")))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "HELLO" {
			t.Fatalf("body %q", got)
		}
		if got := resp.Header.Get("X-Seen"); got != "POST /a/b?x=1 gw.test 1" {
			t.Fatalf("server saw %q", got)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 5 sequential requests; want 1 (keep-alive)", n)
	}
	if p.Idle() != 1 {
		t.Fatalf("idle %d, want 1", p.Idle())
	}
}

func TestLargeAndChunkedBodies(t *testing.T) {
	big := bytes.Repeat([]byte("abcdefgh"), 64<<10) // 512 KiB
	p, _ := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		for i := 0; i < 4; i++ { // no Content-Length: chunked
			w.Write(b)
			w.(http.Flusher).Flush()
		}
	}))
	resp, err := p.Do(context.Background(), req("PUT", "/big", big))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != -1 {
		t.Fatalf("content length %d, want chunked", resp.ContentLength)
	}
	if got := readAll(t, resp); got != strings.Repeat(string(big), 4) {
		t.Fatalf("body of %d bytes, want %d", len(got), 4*len(big))
	}
	if p.Idle() != 1 {
		t.Fatal("connection not reused after a chunked body")
	}
}

func TestUnreadBodyClosesConnection(t *testing.T) {
	p, conns := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 100<<10))
	}))
	resp, err := p.Do(context.Background(), req("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p.Idle() != 0 {
		t.Fatal("a connection with an unread body went back to the pool")
	}
	resp, err = p.Do(context.Background(), req("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// rawServer accepts connections and hands each to serve.
func rawServer(t testing.TB, serve func(c net.Conn, br *bufio.Reader)) *Pool {
	t.Helper()
	ln, path := unixListener(t)
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	p := New("unix", path, Options{})
	t.Cleanup(p.Close)
	return p
}

const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// A plugin that closes an idle connection (a drain, an idle timeout) has
// not seen the next request: it is sent again on a new connection.
func TestRetryOnConnectionClosedWhileIdle(t *testing.T) {
	var requests atomic.Int64
	p := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		requests.Add(1)
		io.WriteString(c, okResponse) // then close, without saying so
	})
	for i := 0; i < 3; i++ {
		resp, err := p.Do(context.Background(), req("POST", "/x", []byte("body")))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		readAll(t, resp)
		time.Sleep(20 * time.Millisecond) // let the close land before the next use
	}
	if n := requests.Load(); n != 3 {
		t.Fatalf("plugin saw %d requests, want 3", n)
	}
}

// A plugin that read the request and then went away may have acted on it:
// the request is reported failed, never replayed.
func TestNoReplayAfterRequestWasRead(t *testing.T) {
	var requests atomic.Int64
	p := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			if requests.Add(1) == 2 {
				return // read the second request, answer nothing
			}
			io.WriteString(c, okResponse)
		}
	})
	resp, err := p.Do(context.Background(), req("POST", "/x", []byte("a")))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	_, err = p.Do(context.Background(), req("POST", "/x", []byte("b")))
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindUnreachable {
		t.Fatalf("err %v, want KindUnreachable", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := requests.Load(); n != 2 {
		t.Fatalf("plugin saw %d requests, want 2 (no replay)", n)
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	p := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
		<-release
	})
	t.Cleanup(func() { close(release) }) // before rawServer's cleanup waits
	r := req("GET", "/slow", nil)
	r.Deadline = time.Now().Add(100 * time.Millisecond)
	_, err := p.Do(context.Background(), r)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindTimeout {
		t.Fatalf("err %v, want KindTimeout", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = p.Do(ctx, req("GET", "/slow", nil))
	if !errors.As(err, &ue) || ue.Kind != KindCanceled {
		t.Fatalf("err %v, want KindCanceled", err)
	}
	if p.Idle() != 0 {
		t.Fatal("a timed-out connection went back to the pool")
	}
}

func TestProtocolErrors(t *testing.T) {
	for name, answer := range map[string]string{
		"garbage":    "SSH-2.0-OpenSSH\r\n\r\n",
		"switching":  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
		"bad length": "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				http.ReadRequest(br)
				io.WriteString(c, answer)
			})
			_, err := p.Do(context.Background(), req("GET", "/", nil))
			var ue *Error
			if !errors.As(err, &ue) || ue.Kind != KindProtocol {
				t.Fatalf("err %v, want KindProtocol", err)
			}
		})
	}
}

func TestInformationalResponseSkipped(t *testing.T) {
	p := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
		io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"+okResponse)
	})
	resp, err := p.Do(context.Background(), req("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || readAll(t, resp) != "ok" {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestInvalidRequestNotSent(t *testing.T) {
	var got atomic.Int64
	p := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := br.ReadByte(); err == nil {
			got.Add(1)
		}
	})
	bad := []*Request{
		{Method: "GET", URI: "/", Header: http.Header{"X-A": {"v\r\nX-Injected: 1"}}},
		{Method: "GET", URI: "/", Header: http.Header{"Bad Name": {"v"}}},
		{Method: "GET", URI: "/a b"},
		{Method: "GET", URI: "http://elsewhere/"},
		{Method: "G T", URI: "/"},
		{Method: "GET", URI: "/", Host: "a\r\nb"},
	}
	for i, r := range bad {
		r.Deadline = time.Now().Add(time.Second)
		_, err := p.Do(context.Background(), r)
		var ue *Error
		if !errors.As(err, &ue) || ue.Kind != KindRequest {
			t.Fatalf("%d: err %v, want KindRequest", i, err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if got.Load() != 0 {
		t.Fatal("an invalid request reached the plugin")
	}
}

func TestUnreachable(t *testing.T) {
	p := New("unix", filepath.Join(t.TempDir(), "none.sock"), Options{})
	_, err := p.Do(context.Background(), req("GET", "/", nil))
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindUnreachable {
		t.Fatalf("err %v, want KindUnreachable", err)
	}
}

func TestClosedPoolKeepsNothing(t *testing.T) {
	p, _ := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("x")) }))
	resp, err := p.Do(context.Background(), req("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	readAll(t, resp)
	if p.Idle() != 0 {
		t.Fatal("a closed pool kept a connection")
	}
}

func TestIdleTimeout(t *testing.T) {
	p, conns := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("x")) }))
	p.opts.IdleTimeout = 30 * time.Millisecond
	for i := 0; i < 2; i++ {
		resp, err := p.Do(context.Background(), req("GET", "/", nil))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		time.Sleep(60 * time.Millisecond)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the idle one expired)", n)
	}
}

// FuzzResponse feeds arbitrary plugin answers through the exchange: no
// panic (a hang would end at the deadline as an error), and an answer that
// is accepted is a final one (never 1xx, which the exchange skips or refuses)
// whose body reads to its end or fails.
func FuzzResponse(f *testing.F) {
	f.Add([]byte(okResponse))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\nuntil close"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"))
	f.Add([]byte("HTTP/1.1 999 Odd\r\nX: \x00\r\n\r\n"))
	f.Fuzz(func(t *testing.T, answer []byte) {
		a, b := net.Pipe()
		defer a.Close()
		go func() {
			defer b.Close()
			br := bufio.NewReader(b)
			http.ReadRequest(br)
			b.Write(answer)
		}()
		p := New("pipe", "", Options{})
		c := newConn(a)
		r := req("GET", "/", nil)
		r.Deadline = time.Now().Add(2 * time.Second)
		head, err := appendHead(new([]byte), r)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.exchange(context.Background(), c, r, *head, nil)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 999 {
			t.Fatalf("exchange returned status %d", resp.StatusCode)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			t.Fatalf("read %d body bytes of a declared %d without an error", n, resp.ContentLength)
		}
	})
}

// wireServer answers gatewire frames with serve's response frame (nil:
// close the connection after reading the request).
func wireServer(t testing.TB, serve func(n int, r *gatewire.Request) []byte) (*Pool, *atomic.Int64) {
	t.Helper()
	var requests atomic.Int64
	p := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		var payload []byte
		for {
			var err error
			payload, err = gatewire.ReadFrame(br, payload, 1<<20)
			if err != nil {
				return
			}
			r, err := gatewire.DecodeRequest(payload)
			if err != nil {
				t.Errorf("daemon sent a bad frame: %v", err)
				return
			}
			out := serve(int(requests.Add(1)), r)
			if out == nil {
				return
			}
			c.Write(out)
		}
	})
	p.opts.Wire = true
	return p, &requests
}

func TestWireRoundTrip(t *testing.T) {
	p, _ := wireServer(t, func(_ int, r *gatewire.Request) []byte {
		h := http.Header{"X-Seen": {r.Method + " " + r.URI + " " + r.Host + " " + r.Remote + " " + r.Scheme + " " + r.Header.Get("X-Test")}}
		b, _ := gatewire.AppendResponse(nil, 201, h, bytes.ToUpper(r.Body))
		return b
	})
	for i := 0; i < 3; i++ {
		rq := req("POST", "/w?x=1", []byte("hello"))
		rq.Remote, rq.Scheme = "192.0.2.9:7", "https"
		rq.Header.Set("Content-Length", "999") // written from Body, never from Header
		resp, err := p.Do(context.Background(), rq)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 201 || resp.ContentLength != 5 || readAll(t, resp) != "HELLO" {
			t.Fatalf("got %d", resp.StatusCode)
		}
		if got := resp.Header.Get("X-Seen"); got != "POST /w?x=1 gw.test 192.0.2.9:7 https 1" {
			t.Fatalf("server saw %q", got)
		}
	}
	if p.Idle() != 1 {
		t.Fatalf("idle %d, want 1", p.Idle())
	}
}

// A frame's body gives the length; an answer to HEAD carries the length
// GET would have in its Content-Length field, or none.
func TestWireContentLength(t *testing.T) {
	p, _ := wireServer(t, func(_ int, r *gatewire.Request) []byte {
		h := http.Header{}
		if cl := r.Header.Get("X-Cl"); cl != "" {
			h["Content-Length"] = []string{cl}
		}
		var body []byte
		if r.Method != http.MethodHead {
			body = []byte("four")
		}
		b, _ := gatewire.AppendResponse(nil, 200, h, body)
		return b
	})
	tests := []struct {
		name, method, cl string
		want             int64
	}{
		{"ok/get-body-wins", "GET", "999", 4},
		{"ok/get", "GET", "", 4},
		{"ok/head-says-get-length", "HEAD", "33", 33},
		{"ok/head-unknown", "HEAD", "", -1},
		{"fail/head-negative", "HEAD", "-1", -1},
		{"fail/head-not-a-number", "HEAD", "3 3", -1},
		{"fail/head-too-long", "HEAD", "1234567890123456789", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rq := req(tc.method, "/", nil)
			if tc.cl != "" {
				rq.Header = http.Header{"X-Cl": {tc.cl}}
			}
			resp, err := p.Do(context.Background(), rq)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.ContentLength != tc.want || resp.Header.Get("Content-Length") != "" || (tc.method == "GET") != (body == "four") {
				t.Fatalf("ContentLength %d, header %q, body %q", resp.ContentLength, resp.Header.Get("Content-Length"), body)
			}
		})
	}
}

func TestWireRetryAndNoReplay(t *testing.T) {
	ok, _ := gatewire.AppendResponse(nil, 200, nil, []byte("ok"))
	// Closed while idle after every answer: each request is retried once.
	var n atomic.Int64
	p2 := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		payload, err := gatewire.ReadFrame(br, nil, 1<<20)
		if err == nil {
			if _, err := gatewire.DecodeRequest(payload); err == nil {
				n.Add(1)
				c.Write(ok)
			}
		}
	})
	p2.opts.Wire = true
	for i := 0; i < 3; i++ {
		resp, err := p2.Do(context.Background(), req("POST", "/", []byte("x")))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		readAll(t, resp)
		time.Sleep(20 * time.Millisecond)
	}
	if got := n.Load(); got != 3 {
		t.Fatalf("plugin saw %d requests, want 3", got)
	}

	// Read, then gone: reported, not replayed.
	p3, n3 := wireServer(t, func(k int, _ *gatewire.Request) []byte {
		if k == 2 {
			return nil
		}
		return ok
	})
	resp, err := p3.Do(context.Background(), req("POST", "/", []byte("a")))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	_, err = p3.Do(context.Background(), req("POST", "/", []byte("b")))
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindUnreachable {
		t.Fatalf("err %v, want KindUnreachable", err)
	}
	time.Sleep(50 * time.Millisecond)
	if got := n3.Load(); got != 2 {
		t.Fatalf("plugin saw %d requests, want 2 (no replay)", got)
	}
}

func TestWireProtocolErrors(t *testing.T) {
	for name, answer := range map[string][]byte{
		"http text":     []byte(okResponse),
		"bad payload":   {0, 0, 0, 3, 'R', 0xff, 0xff},
		"status 100":    {0, 0, 0, 4, 'R', 100, 0, 0},
		"over the size": {0x10, 0, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			p, _ := wireServer(t, func(int, *gatewire.Request) []byte { return answer })
			p.opts.MaxResponse = 1 << 20
			_, err := p.Do(context.Background(), req("GET", "/", nil))
			var ue *Error
			if !errors.As(err, &ue) || ue.Kind != KindProtocol {
				t.Fatalf("err %v, want KindProtocol", err)
			}
		})
	}
}
