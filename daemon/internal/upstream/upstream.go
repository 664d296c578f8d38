// Package upstream is the gateway's HTTP/1.1 client to one plugin process
// generation: a pool of keep-alive connections (over the plugin's unix
// socket, or TCP) used synchronously by the goroutine serving the request.
//
// net/http's Transport runs a read and a write goroutine per connection and
// hands every request and response between them; on the two shared cores
// the gateway runs on, those handoffs and the extra writes cost as much as
// the proxy hop's parsing. Here a request is one writev of the head and the
// buffered body, the response is parsed with net/http's own ReadResponse on
// the calling goroutine, and the connection returns to the pool once its
// body has been read to the end.
//
// A request is sent again, once and on a new connection, only when the
// plugin cannot have seen it: the write failed, or a reused connection was
// reset with the request unread (a plugin closing an idle connection). A
// connection that ends after the plugin read the request is reported, never
// replayed, so a non-idempotent call is not executed twice.
package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/aunsorm/aunsorm/sdk/gatewire"
)

// Options tunes a Pool; zero values take the defaults.
type Options struct {
	DialTimeout time.Duration // default 2s
	MaxIdle     int           // idle connections kept; default 1024
	IdleTimeout time.Duration // an idle connection older than this is closed; default 60s
	// Wire speaks sdk/gatewire frames instead of HTTP/1.1 text; for
	// plugins reporting plugin.WireCapability.
	Wire bool
	// MaxResponse bounds a framed response (default 64 MiB).
	MaxResponse int
}

// Pool holds the connections to one plugin process generation.
type Pool struct {
	network, addr string
	opts          Options

	mu     sync.Mutex
	idle   []*conn // LIFO: the most recently used connection is reused first
	closed bool
}

type conn struct {
	nc     net.Conn
	br     *bufio.Reader
	frame  []byte // the last framed response (its body is read from here)
	idleAt time.Time
	reused bool
}

// New returns a pool dialing network ("unix" or "tcp") addr.
func New(network, addr string, opts Options) *Pool {
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 2 * time.Second
	}
	if opts.MaxIdle <= 0 {
		opts.MaxIdle = 1024
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 60 * time.Second
	}
	if opts.MaxResponse <= 0 {
		opts.MaxResponse = 64 << 20
	}
	return &Pool{network: network, addr: addr, opts: opts}
}

// Wire reports whether the pool speaks sdk/gatewire frames.
func (p *Pool) Wire() bool { return p.opts.Wire }

// Addr returns the network and address the pool dials.
func (p *Pool) Addr() (network, addr string) { return p.network, p.addr }

// CloseIdle closes the idle connections; connections in use are closed when
// their request ends if the pool has been closed meanwhile.
func (p *Pool) CloseIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}

// Close closes the idle connections and makes the pool keep no more.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.CloseIdle()
}

// Idle reports how many connections are idle in the pool.
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

func (p *Pool) get(ctx context.Context, fresh bool) (*conn, error) {
	if !fresh {
		now := time.Now()
		var stale []*conn
		p.mu.Lock()
		var c *conn
		for n := len(p.idle); n > 0; n-- {
			c = p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			if now.Sub(c.idleAt) < p.opts.IdleTimeout {
				break
			}
			stale = append(stale, c)
			c = nil
		}
		p.mu.Unlock()
		for _, s := range stale {
			s.nc.Close()
		}
		if c != nil {
			return c, nil
		}
	}
	d := net.Dialer{Timeout: p.opts.DialTimeout}
	nc, err := d.DialContext(ctx, p.network, p.addr)
	if err != nil {
		return nil, &Error{Kind: KindUnreachable, Err: err}
	}
	return newConn(nc), nil
}

func newConn(nc net.Conn) *conn {
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 8<<10)}
}

func (p *Pool) put(c *conn) {
	c.reused = true
	c.idleAt = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.opts.MaxIdle {
		p.mu.Unlock()
		c.nc.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// Request is one request to send. Header is written as given (the caller
// has removed hop-by-hop fields); Host and Content-Length are written from
// their own fields.
type Request struct {
	Method   string
	URI      string // origin form: path and query
	Host     string
	Header   http.Header
	Body     []byte
	Deadline time.Time // for the whole exchange, including reading the body
	Remote   string    // the client's address (framed requests only)
	Scheme   string    // "http" or "https" (framed requests only)
}

// Kind classifies a failed exchange.
type Kind int

const (
	// KindUnreachable: no connection could be made or the plugin went away.
	KindUnreachable Kind = iota
	// KindTimeout: the deadline passed before the response was read.
	KindTimeout
	// KindCanceled: the caller's context ended (the client went away).
	KindCanceled
	// KindProtocol: the plugin answered something that is not HTTP/1.1.
	KindProtocol
	// KindRequest: the request cannot be written (invalid header field).
	KindRequest
)

// Error is a failed exchange.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string {
	switch e.Kind {
	case KindTimeout:
		return "upstream timeout: " + e.Err.Error()
	case KindCanceled:
		return "upstream request canceled: " + e.Err.Error()
	case KindProtocol:
		return "upstream protocol error: " + e.Err.Error()
	case KindRequest:
		return "upstream request invalid: " + e.Err.Error()
	}
	return "upstream unreachable: " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// errNotSent marks a failure that happened before the plugin could have
// read the request.
type errNotSent struct{ err error }

func (e errNotSent) Error() string { return e.err.Error() }
func (e errNotSent) Unwrap() error { return e.err }

// Do sends req and reads the response head. The caller must Close the
// returned body; the connection goes back to the pool when the body was
// read to its end.
func (p *Pool) Do(ctx context.Context, req *Request) (*http.Response, error) {
	var head *[]byte
	var err error
	if p.opts.Wire {
		head, err = appendFrame(headPool.Get().(*[]byte), req)
	} else {
		head, err = appendHead(headPool.Get().(*[]byte), req)
	}
	if err != nil {
		return nil, &Error{Kind: KindRequest, Err: err}
	}
	defer putHead(head)
	var rest []byte // a body too large to copy behind the head
	if !p.opts.Wire && len(req.Body) > 0 {
		if len(*head)+len(req.Body) <= inlineBody {
			*head = append(*head, req.Body...)
		} else {
			rest = req.Body
		}
	}
	for attempt := 0; ; attempt++ {
		c, err := p.get(ctx, attempt > 0)
		if err != nil {
			return nil, classify(ctx, err)
		}
		resp, err := p.exchange(ctx, c, req, *head, rest)
		if err == nil {
			return resp, nil
		}
		c.nc.Close()
		var ns errNotSent
		if attempt == 0 && c.reused && errors.As(err, &ns) {
			// The plugin closed this connection while it was idle: the
			// others from that time are likely closed too.
			p.CloseIdle()
			continue
		}
		return nil, classify(ctx, err)
	}
}

// classify maps an exchange error to an *Error.
func classify(ctx context.Context, err error) error {
	var ue *Error
	if errors.As(err, &ue) && ue.Kind != KindUnreachable {
		return ue
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Kind: KindCanceled, Err: ctx.Err()}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTimeout, Err: err}
	}
	if ue != nil {
		return ue
	}
	return &Error{Kind: KindUnreachable, Err: err}
}

// aLongTimeAgo unblocks a pending read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// inlineBody: an HTTP/1.1 request whose head and body fit in this many
// bytes goes out as one buffer (the body copied after the head).
const inlineBody = 64 << 10

// exchange sends head (and rest, when the body was not copied behind it)
// and reads the response head.
func (p *Pool) exchange(ctx context.Context, c *conn, req *Request, head, rest []byte) (*http.Response, error) {
	if err := c.nc.SetDeadline(req.Deadline); err != nil {
		return nil, errNotSent{err}
	}
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(aLongTimeAgo) })
	var err error
	if len(rest) == 0 {
		if _, err = c.nc.Write(head); err != nil {
			stop()
			// A write fails when the plugin has closed the connection;
			// what reached it is at most a partial request, which it
			// cannot act on.
			return nil, errNotSent{err}
		}
	} else {
		bufs := net.Buffers{head, rest}
		if _, err = bufs.WriteTo(c.nc); err != nil {
			stop()
			return nil, errNotSent{err}
		}
	}
	for {
		if _, err := c.br.Peek(1); err != nil {
			stop()
			if errors.Is(err, syscall.ECONNRESET) {
				// The plugin closed the connection with the request unread.
				return nil, errNotSent{err}
			}
			return nil, err
		}
		if p.opts.Wire {
			return p.readFrame(c, stop, req.Method)
		}
		resp, err := http.ReadResponse(c.br, &http.Request{Method: req.Method})
		if err != nil {
			stop()
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, err
			}
			return nil, &Error{Kind: KindProtocol, Err: err}
		}
		if resp.StatusCode < 100 || resp.StatusCode > 999 {
			// net/http parses "000"; the gateway could not send it on.
			stop()
			return nil, &Error{Kind: KindProtocol, Err: fmt.Errorf("invalid status %d", resp.StatusCode)}
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			if resp.StatusCode == http.StatusSwitchingProtocols {
				stop()
				return nil, &Error{Kind: KindProtocol, Err: errors.New("unexpected 101 Switching Protocols")}
			}
			continue // an informational answer; the real one follows
		}
		resp.Body = &body{rc: resp.Body, c: c, p: p, stop: stop, keep: !resp.Close}
		return resp, nil
	}
}

// readFrame reads a framed response; its body is served from the frame.
// The frame's body gives the length, except in an answer to HEAD, whose
// Content-Length field (if any) is the length GET would have.
func (p *Pool) readFrame(c *conn, stop func() bool, method string) (*http.Response, error) {
	var err error
	c.frame, err = gatewire.ReadFrame(c.br, c.frame, p.opts.MaxResponse)
	if err != nil {
		stop()
		if errors.Is(err, gatewire.ErrFrame) {
			return nil, &Error{Kind: KindProtocol, Err: err}
		}
		return nil, err
	}
	fr, err := gatewire.DecodeResponse(c.frame)
	if err != nil {
		stop()
		return nil, &Error{Kind: KindProtocol, Err: err}
	}
	if cap(c.frame) > 1<<20 {
		defer func() { c.frame = nil }() // the body keeps its slice; the connection drops it
	}
	length := int64(len(fr.Body))
	if method == http.MethodHead {
		length = -1 // unknown unless the plugin says
		if cl := fr.Header["Content-Length"]; gatewire.ValidContentLength(cl) {
			length, _ = strconv.ParseInt(cl[0], 10, 64)
		}
	}
	delete(fr.Header, "Content-Length")
	return &http.Response{
		Status:        strconv.Itoa(fr.Status) + " " + http.StatusText(fr.Status),
		StatusCode:    fr.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        fr.Header,
		ContentLength: length,
		Body:          &body{rc: io.NopCloser(bytes.NewReader(fr.Body)), c: c, p: p, stop: stop, keep: true},
	}, nil
}

// body returns the connection to the pool when read to its end.
type body struct {
	rc   io.ReadCloser
	c    *conn
	p    *Pool
	stop func() bool
	keep bool
	eof  bool
	done bool
}

func (b *body) Read(buf []byte) (int, error) {
	if b.done {
		return 0, errors.New("upstream: read on closed body")
	}
	n, err := b.rc.Read(buf)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// Close releases the connection: back to the pool after a complete,
// reusable exchange, closed otherwise (the rest of a body is not drained).
func (b *body) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	stopped := b.stop()
	if b.eof && b.keep && stopped && b.c.br.Buffered() == 0 {
		_ = b.rc.Close() // at EOF: nothing left to read
		b.p.put(b.c)
		return nil
	}
	return b.c.nc.Close()
}

// appendFrame encodes req as a gatewire request frame.
func appendFrame(buf *[]byte, req *Request) (*[]byte, error) {
	scheme := req.Scheme
	if scheme == "" {
		scheme = "http"
	}
	b, err := gatewire.AppendRequest((*buf)[:0], &gatewire.Request{
		Method: req.Method, URI: req.URI, Host: req.Host, Remote: req.Remote, Scheme: scheme,
		Header: req.Header, Body: req.Body,
	}, skipField)
	*buf = b
	return buf, err
}

// skipField: written from the request's own fields, never from Header.
func skipField(k string) bool {
	return k == "Host" || k == "Content-Length" || k == "Transfer-Encoding" || k == "Connection"
}

var headPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// putHead keeps a buffer for reuse unless a large body grew it.
func putHead(b *[]byte) {
	if cap(*b) <= 2*inlineBody {
		headPool.Put(b)
	}
}

// appendHead writes the request line and header fields into *buf.
func appendHead(buf *[]byte, req *Request) (*[]byte, error) {
	b := (*buf)[:0]
	if !gatewire.ValidMethod(req.Method) {
		return buf, fmt.Errorf("invalid method %q", req.Method)
	}
	if !gatewire.ValidTarget(req.URI) {
		return buf, errors.New("invalid request target")
	}
	if !httpguts.ValidHostHeader(req.Host) {
		return buf, errors.New("invalid host")
	}
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, req.URI...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, req.Host...)
	b = append(b, "\r\n"...)
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return buf, fmt.Errorf("invalid header field name %q", k)
		}
		if skipField(k) {
			continue
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return buf, fmt.Errorf("invalid value for header field %q", k)
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if len(req.Body) > 0 || bodyMethod(req.Method) {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.Body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	*buf = b
	return buf, nil
}

// bodyMethod reports whether a request of this method says its body
// length even when it is empty.
func bodyMethod(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
}
