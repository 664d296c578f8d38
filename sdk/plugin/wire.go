package plugin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/gatewire"
)

// WireCapability is what an SDK plugin reports in Describe when it serves
// the gateway's framing (sdk/gatewire) on its unix socket.
const WireCapability = "aunsorm.gatewire/1"

// maxWireFrame bounds one request frame a plugin accepts from the gateway
// (the gateway's own body limit is far lower).
const maxWireFrame = 64 << 20

// wireServer serves the gateway's frames on one listener with the same
// handler the HTTP server runs. Each connection carries one exchange at a
// time, like HTTP/1.1 keep-alive.
type wireServer struct {
	handler http.Handler
	log     zerolog.Logger
	ctx     context.Context // cancelled when the server closes

	mu       sync.Mutex
	conns    map[*wireConn]struct{}
	lns      []net.Listener
	shutdown bool
	cancel   context.CancelFunc
	done     chan struct{} // closed when the last connection ends after shutdown
}

// Connection states; a connection is closed by Shutdown only while idle.
const (
	wireIdle int32 = iota
	wireActive
	wireClosed
)

type wireConn struct {
	nc    net.Conn
	state atomic.Int32
}

// goIdle marks an active connection idle; false when it was closed.
func (c *wireConn) goIdle() bool { return c.state.CompareAndSwap(wireActive, wireIdle) }

func newWireServer(h http.Handler, log zerolog.Logger) *wireServer {
	ctx, cancel := context.WithCancel(context.Background())
	return &wireServer{handler: h, log: log, ctx: ctx, cancel: cancel, conns: map[*wireConn]struct{}{}}
}

// Serve accepts connections on ln until it is closed.
func (s *wireServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			shut := s.shutdown
			s.mu.Unlock()
			if shut {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := &wireConn{nc: nc}
		s.mu.Lock()
		if s.shutdown {
			s.mu.Unlock()
			nc.Close()
			return http.ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

func (s *wireServer) forget(c *wireConn) {
	c.state.Store(wireClosed)
	c.nc.Close()
	s.mu.Lock()
	delete(s.conns, c)
	if s.shutdown && len(s.conns) == 0 && s.done != nil {
		close(s.done)
		s.done = nil
	}
	s.mu.Unlock()
}

func (s *wireServer) serveConn(c *wireConn) {
	defer s.forget(c)
	br := bufio.NewReaderSize(c.nc, 16<<10)
	var in, out []byte
	w := &wireWriter{}
	for {
		// Wait for the next frame while idle; become active on its first
		// byte, so Shutdown never cuts a request this process has read.
		if _, err := br.Peek(1); err != nil {
			return
		}
		if !c.state.CompareAndSwap(wireIdle, wireActive) {
			return
		}
		var err error
		in, err = gatewire.ReadFrame(br, in, maxWireFrame)
		if err != nil {
			if errors.Is(err, gatewire.ErrFrame) {
				s.log.Warn().Err(err).Msg("gateway frame refused; closing the connection")
			}
			return
		}
		req, err := gatewire.DecodeRequest(in)
		if err != nil {
			s.log.Warn().Err(err).Msg("gateway frame refused; closing the connection")
			return
		}
		w.reset()
		ctx, cancel := context.WithCancel(s.ctx)
		watch := watchAfter(c.nc, br, cancel)
		ok := s.serveOne(ctx, w, req)
		alive := watch.stop()
		cancel()
		if !ok || !alive {
			return
		}
		out, err = w.frame(out[:0], req.Method)
		if err != nil {
			s.log.Error().Err(err).Str("path", req.URI).Msg("response cannot be framed")
			w.reset()
			apierror.Write(w, nil, apierror.Internal())
			if out, err = w.frame(out[:0], req.Method); err != nil {
				return
			}
		}
		if _, err := c.nc.Write(out); err != nil {
			return
		}
		// Do not keep a large exchange's buffers for the connection's life.
		in, out = shrink(in), shrink(out)
		// Go idle; should Shutdown close the connection meanwhile, the
		// next Peek fails.
		if !c.goIdle() {
			return
		}
	}
}

// serveOne runs the handler; false when the handler aborted the response.
func (s *wireServer) serveOne(ctx context.Context, w *wireWriter, fr *gatewire.Request) (ok bool) {
	u, err := url.ParseRequestURI(fr.URI)
	if err != nil {
		apierror.Write(w, nil, apierror.BadRequest("the request target is not valid"))
		return true
	}
	r := &http.Request{
		Method:        fr.Method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        fr.Header,
		Body:          http.NoBody,
		ContentLength: int64(len(fr.Body)),
		Host:          fr.Host,
		RemoteAddr:    fr.Remote,
		RequestURI:    fr.URI,
	}
	if len(fr.Body) > 0 {
		r.Body = wireBody{bytes.NewReader(fr.Body)}
	}
	r = r.WithContext(ctx)
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				s.log.Error().Str("path", u.Path).Msg("handler panicked")
			}
			ok = false
		}
	}()
	s.handler.ServeHTTP(w, r)
	return true
}

// watchDelay is how long a handler runs before its connection is watched
// for the gateway going away (the client left, the upstream deadline
// passed). Quick handlers never pay for a watch.
const watchDelay = 5 * time.Millisecond

// aLongTimeAgo unblocks a pending read at once.
var aLongTimeAgo = time.Unix(1, 0)

// connWatch cancels a slow handler's context when the gateway closes the
// connection: the gateway sends nothing while it waits for an answer, so
// the watching read returns only when the connection ends (or is stopped).
type connWatch struct {
	nc     net.Conn
	br     *bufio.Reader
	cancel context.CancelFunc
	timer  *time.Timer
	mu     sync.Mutex
	done   chan struct{} // non-nil once the watching read started
	dead   bool          // the connection ended while the handler ran
}

func watchAfter(nc net.Conn, br *bufio.Reader, cancel context.CancelFunc) *connWatch {
	cw := &connWatch{nc: nc, br: br, cancel: cancel}
	cw.timer = time.AfterFunc(watchDelay, cw.start)
	return cw
}

func (cw *connWatch) start() {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if cw.done != nil {
		return
	}
	cw.done = make(chan struct{})
	go func() {
		defer close(cw.done)
		// Bytes that do arrive stay buffered for the next exchange.
		if _, err := cw.br.Peek(1); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			cw.dead = true
			cw.cancel()
		}
	}()
}

// stop ends the watch; false when the connection ended meanwhile.
func (cw *connWatch) stop() bool {
	if cw.timer.Stop() {
		return true // the watch never started
	}
	cw.mu.Lock()
	if cw.done == nil {
		cw.done = make(chan struct{}) // the timer fired but start has not run: stop it starting
		close(cw.done)
		cw.mu.Unlock()
		return true
	}
	done := cw.done
	cw.mu.Unlock()
	_ = cw.nc.SetReadDeadline(aLongTimeAgo)
	<-done
	_ = cw.nc.SetReadDeadline(time.Time{})
	return !cw.dead
}

// shrink drops a buffer grown past 1 MiB.
func shrink(b []byte) []byte {
	if cap(b) > 1<<20 {
		return nil
	}
	return b
}

type wireBody struct{ *bytes.Reader }

func (wireBody) Close() error { return nil }

// Shutdown stops accepting, closes idle connections and waits for active
// ones to finish their exchange, until ctx ends.
func (s *wireServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	for _, ln := range s.lns {
		ln.Close()
	}
	done := make(chan struct{})
	if len(s.conns) == 0 {
		close(done)
	} else {
		s.done = done
	}
	s.mu.Unlock()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		s.closeIdle()
		select {
		case <-done:
			s.cancel()
			return nil
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (s *wireServer) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(wireIdle, wireClosed) {
			c.nc.Close()
		}
	}
}

// Close closes the listeners and every connection at once.
func (s *wireServer) Close() {
	s.mu.Lock()
	s.shutdown = true
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.cancel()
}

// wireWriter collects a handler's response for one frame.
type wireWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

// reset readies w for the next exchange of its connection. The header map
// is cleared and kept: a handler must not use its ResponseWriter after
// returning, as with net/http.
func (w *wireWriter) reset() {
	if w.h == nil {
		w.h = make(http.Header, 8)
	} else {
		clear(w.h)
	}
	w.status = 0
	if w.body.Cap() > 1<<20 {
		w.body = bytes.Buffer{}
	}
	w.body.Reset()
}

func (w *wireWriter) Header() http.Header { return w.h }

func (w *wireWriter) WriteHeader(code int) {
	if w.status != 0 || code >= 100 && code < 200 {
		return // already sent, or informational (the frame carries the final answer only)
	}
	if !gatewire.ValidStatus(code) {
		code = http.StatusInternalServerError
	}
	w.status = code
}

func (w *wireWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(b)
}

// Flush is accepted and has nothing to do: the whole response is one frame.
func (w *wireWriter) Flush() {}

// frame encodes the response as net/http would send it: a sniffed
// Content-Type when the handler set none, no body for HEAD, 204 and 304.
// The frame's body gives the length; only an answer to HEAD carries a
// Content-Length field: the length GET would have (RFC 9110, section
// 8.6), the handler's own when it set a valid one, else what it wrote.
func (w *wireWriter) frame(b []byte, method string) ([]byte, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	written := w.body.Bytes()
	bodyAllowed := w.status != http.StatusNoContent && w.status != http.StatusNotModified
	if _, ok := w.h["Content-Type"]; !ok && bodyAllowed && len(written) > 0 && w.h.Get("Content-Encoding") == "" {
		w.h["Content-Type"] = []string{http.DetectContentType(written)}
	}
	delete(w.h, "Transfer-Encoding")
	body := written
	switch {
	case !bodyAllowed:
		body = nil
		delete(w.h, "Content-Length")
	case method == http.MethodHead:
		body = nil
		if !gatewire.ValidContentLength(w.h["Content-Length"]) {
			delete(w.h, "Content-Length")
			if len(written) > 0 {
				w.h["Content-Length"] = []string{strconv.Itoa(len(written))}
			}
		}
	default:
		delete(w.h, "Content-Length")
	}
	return gatewire.AppendResponse(b, w.status, w.h, body)
}
