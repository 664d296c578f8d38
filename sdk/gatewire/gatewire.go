// Package gatewire is the framing the gateway and an SDK plugin speak on
// the plugin's unix socket, in place of HTTP/1.1 text: a request or a
// response is one length-prefixed frame of plain fields, read whole with
// one read, written whole with one write, decoded without a text parser.
// The plugin's handlers see an ordinary *http.Request and
// http.ResponseWriter; the plugin's TCP port keeps serving HTTP/1.1.
//
// Frame: a 4-byte big-endian payload length, then the payload. Every
// string and byte field is a uvarint length followed by its bytes.
//
//	request  = 'Q' method uri host remote scheme count (name value)* body
//	response = 'R' status count (name value)* body
//
// Decoders check every length against the frame and every field against
// HTTP's grammar (token names, field values without CR/LF/NUL, an
// origin-form target), so a frame that decodes is one net/http would
// accept.
package gatewire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"

	"golang.org/x/net/http/httpguts"
)

// MaxHeaders bounds the header fields of one frame.
const MaxHeaders = 256

// ErrFrame is wrapped by every decoding error.
var ErrFrame = errors.New("gatewire: malformed frame")

func frameErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFrame}, args...)...)
}

// Request is a decoded request frame.
type Request struct {
	Method string
	URI    string // origin form
	Host   string
	Remote string // the client's address as the gateway saw it
	Scheme string // "http" or "https": how the client reached the gateway
	Header http.Header
	Body   []byte
}

// Response is a decoded response frame.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ReadFrame reads one frame's payload into buf (grown as needed) and
// returns it. A payload over max bytes is refused before it is read.
func ReadFrame(r *bufio.Reader, buf []byte, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return buf, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n > max || n < 1 {
		return buf, frameErr("payload of %d bytes (limit %d)", n, max)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return buf, err
	}
	return buf, nil
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendHeader(b []byte, h http.Header, skip func(string) bool) ([]byte, error) {
	n := 0
	for k, vv := range h {
		if skip == nil || !skip(k) {
			n += len(vv)
		}
	}
	if n > MaxHeaders {
		return b, fmt.Errorf("gatewire: %d header fields (limit %d)", n, MaxHeaders)
	}
	b = binary.AppendUvarint(b, uint64(n))
	for k, vv := range h {
		if skip != nil && skip(k) {
			continue
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return b, fmt.Errorf("gatewire: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return b, fmt.Errorf("gatewire: invalid value for header field %q", k)
			}
			b = appendStr(b, k)
			b = appendStr(b, v)
		}
	}
	return b, nil
}

// startFrame reserves the length prefix; finishFrame fills it in.
func startFrame(b []byte, kind byte) []byte { return append(b, 0, 0, 0, 0, kind) }

func finishFrame(b []byte, start int) []byte {
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// AppendRequest appends req as a frame, without the header fields for
// which skip reports true. Fields that HTTP would not carry are refused.
func AppendRequest(b []byte, req *Request, skip func(string) bool) ([]byte, error) {
	if !ValidMethod(req.Method) {
		return b, fmt.Errorf("gatewire: invalid method %q", req.Method)
	}
	if !ValidTarget(req.URI) {
		return b, errors.New("gatewire: invalid request target")
	}
	if !httpguts.ValidHostHeader(req.Host) {
		return b, errors.New("gatewire: invalid host")
	}
	if req.Scheme != "http" && req.Scheme != "https" {
		return b, fmt.Errorf("gatewire: invalid scheme %q", req.Scheme)
	}
	start := len(b)
	b = startFrame(b, 'Q')
	b = appendStr(b, req.Method)
	b = appendStr(b, req.URI)
	b = appendStr(b, req.Host)
	b = appendStr(b, req.Remote)
	b = appendStr(b, req.Scheme)
	b, err := appendHeader(b, req.Header, skip)
	if err != nil {
		return b[:start], err
	}
	b = binary.AppendUvarint(b, uint64(len(req.Body)))
	b = append(b, req.Body...)
	return finishFrame(b, start), nil
}

// AppendResponse appends a response frame.
func AppendResponse(b []byte, status int, h http.Header, body []byte) ([]byte, error) {
	if !ValidStatus(status) {
		return b, fmt.Errorf("gatewire: invalid status %d", status)
	}
	start := len(b)
	b = startFrame(b, 'R')
	b = binary.AppendUvarint(b, uint64(status))
	b, err := appendHeader(b, h, nil)
	if err != nil {
		return b[:start], err
	}
	b = binary.AppendUvarint(b, uint64(len(body)))
	b = append(b, body...)
	return finishFrame(b, start), nil
}

// decoder walks a payload. Fields before the body are cut from one
// string holding the whole head (one allocation for every name and value);
// the body aliases the payload.
type decoder struct {
	p   []byte // the payload after the kind byte
	off int
	s   string // p[:len(s)] as a string, once the head's end is known
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.p[d.off:])
	if n <= 0 {
		d.err = frameErr("bad length")
		return 0
	}
	d.off += n
	return v
}

// span returns the bounds of the next length-prefixed field.
func (d *decoder) span() (int, int) {
	n := d.uvarint()
	if d.err != nil {
		return 0, 0
	}
	if n > uint64(len(d.p)-d.off) {
		d.err = frameErr("field of %d bytes past the end of the frame", n)
		return 0, 0
	}
	a := d.off
	d.off += int(n)
	return a, d.off
}

func (d *decoder) bytes() []byte {
	a, b := d.span()
	return d.p[a:b:b]
}

// str returns the next field as a string, cut from the head string when
// the field lies within it.
func (d *decoder) str() string {
	a, b := d.span()
	if b <= len(d.s) {
		return d.s[a:b]
	}
	return string(d.p[a:b])
}

// head finds where the body field begins, after strs string fields (and
// a status when status is set) and the header fields, and makes that head
// one string. The walk is repeated by the real decode from the start.
func (d *decoder) head(strs int, status bool) {
	if status {
		d.uvarint()
	}
	for i := 0; i < strs; i++ {
		d.span()
	}
	n := d.uvarint()
	if d.err == nil && n > MaxHeaders {
		d.err = frameErr("%d header fields (limit %d)", n, MaxHeaders)
	}
	for i := uint64(0); i < 2*n && d.err == nil; i++ {
		d.span()
	}
	if d.err == nil {
		d.s = string(d.p[:d.off])
	}
	d.off = 0
}

func (d *decoder) header() http.Header {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > MaxHeaders {
		d.err = frameErr("%d header fields (limit %d)", n, MaxHeaders)
		return nil
	}
	h := make(http.Header, n)
	vals := make([]string, n) // one backing array; a repeated name appends past it
	for i := uint64(0); i < n && d.err == nil; i++ {
		k, v := d.str(), d.str()
		if d.err != nil {
			break
		}
		if !httpguts.ValidHeaderFieldName(k) {
			d.err = frameErr("invalid header field name")
			break
		}
		if !httpguts.ValidHeaderFieldValue(v) {
			d.err = frameErr("invalid header field value")
			break
		}
		ck := http.CanonicalHeaderKey(k)
		if vv, ok := h[ck]; ok {
			h[ck] = append(vv, v)
			continue
		}
		vals[i] = v
		h[ck] = vals[i : i+1 : i+1]
	}
	return h
}

// DecodeRequest decodes a request payload. Body aliases p.
func DecodeRequest(p []byte) (*Request, error) {
	if len(p) == 0 || p[0] != 'Q' {
		return nil, frameErr("not a request frame")
	}
	d := decoder{p: p[1:]}
	d.head(5, false)
	r := &Request{Method: d.str(), URI: d.str(), Host: d.str(), Remote: d.str(), Scheme: d.str()}
	r.Header = d.header()
	r.Body = d.bytes()
	switch {
	case d.err != nil:
		return nil, d.err
	case d.off != len(d.p):
		return nil, frameErr("%d bytes after the body", len(d.p)-d.off)
	case !ValidMethod(r.Method):
		return nil, frameErr("invalid method")
	case !ValidTarget(r.URI):
		return nil, frameErr("invalid request target")
	case !httpguts.ValidHostHeader(r.Host):
		return nil, frameErr("invalid host")
	case r.Scheme != "http" && r.Scheme != "https":
		return nil, frameErr("invalid scheme")
	}
	return r, nil
}

// DecodeResponse decodes a response payload. Body aliases p.
func DecodeResponse(p []byte) (*Response, error) {
	if len(p) == 0 || p[0] != 'R' {
		return nil, frameErr("not a response frame")
	}
	d := decoder{p: p[1:]}
	d.head(0, true)
	status := d.uvarint()
	r := &Response{Header: d.header()}
	r.Body = d.bytes()
	switch {
	case d.err != nil:
		return nil, d.err
	case d.off != len(d.p):
		return nil, frameErr("%d bytes after the body", len(d.p)-d.off)
	case !ValidStatus(int(min(status, 1000))):
		return nil, frameErr("status %d", status)
	}
	r.Status = int(status)
	return r, nil
}

// ValidStatus reports whether a response frame may carry status: a final
// (non-informational) three-digit status, as HTTP/1.1 would carry it.
func ValidStatus(status int) bool { return status >= 200 && status <= 999 }

// ValidContentLength reports whether vv is one Content-Length value: a
// decimal number of octets, without sign or spaces, that fits an int64.
func ValidContentLength(vv []string) bool {
	if len(vv) != 1 || vv[0] == "" || len(vv[0]) > 18 {
		return false
	}
	for i := 0; i < len(vv[0]); i++ {
		if vv[0][i] < '0' || vv[0][i] > '9' {
			return false
		}
	}
	return true
}

// ValidMethod reports whether m is an HTTP method token.
func ValidMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if !httpguts.IsTokenRune(rune(m[i])) {
			return false
		}
	}
	return true
}

// ValidTarget reports whether u is an origin-form request target (a path
// and optional query) without spaces or control bytes.
func ValidTarget(u string) bool {
	if u == "" || u[0] != '/' {
		return false
	}
	for i := 0; i < len(u); i++ {
		if u[i] <= ' ' || u[i] == 0x7f {
			return false
		}
	}
	return true
}
