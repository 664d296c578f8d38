package gatewire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func sampleRequest() *Request {
	return &Request{
		Method: "POST", URI: "/crypto/encrypt?x=1", Host: "gw.example", Remote: "192.0.2.7:4411", Scheme: "https",
		Header: http.Header{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}},
		Body:   []byte(`{"k":"v"}`),
	}
}

// payload strips the 4-byte length prefix after checking it.
func payload(t testing.TB, frame []byte) []byte {
	t.Helper()
	p, err := ReadFrame(bufio.NewReader(bytes.NewReader(frame)), nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRequestRoundTrip(t *testing.T) {
	in := sampleRequest()
	frame, err := AppendRequest(nil, in, func(k string) bool { return k == "X-Skip" })
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeRequest(payload(t, frame))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
	}
	// Skipped fields stay out; an empty body decodes as empty.
	in.Header["X-Skip"] = []string{"secret"}
	in.Body = nil
	frame, _ = AppendRequest(nil, in, func(k string) bool { return k == "X-Skip" })
	out, err = DecodeRequest(payload(t, frame))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.Header["X-Skip"]; ok || len(out.Body) != 0 {
		t.Fatalf("skip/body: %+v", out)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	h := http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {"a=1", "b=2"}}
	frame, err := AppendResponse(nil, 201, h, []byte("created"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeResponse(payload(t, frame))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 201 || string(r.Body) != "created" || !reflect.DeepEqual(r.Header, h) {
		t.Fatalf("got %+v", r)
	}
}

// Every status the encoder takes decodes: an unusual one such as 799 is
// carried as HTTP/1.1 would carry it, not refused at the gateway.
func TestEveryEncodableStatusDecodes(t *testing.T) {
	for status := 0; status <= 1000; status++ {
		frame, err := AppendResponse(nil, status, nil, nil)
		if err != nil {
			if ValidStatus(status) {
				t.Fatalf("status %d refused: %v", status, err)
			}
			continue
		}
		r, err := DecodeResponse(payload(t, frame))
		if err != nil || r.Status != status {
			t.Fatalf("status %d: decoded %+v, %v", status, r, err)
		}
	}
}

func TestHeaderNamesCanonicalised(t *testing.T) {
	in := sampleRequest()
	in.Header = http.Header{"x-lower": {"1"}}
	frame, err := AppendRequest(nil, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeRequest(payload(t, frame))
	if err != nil {
		t.Fatal(err)
	}
	if out.Header.Get("X-Lower") != "1" {
		t.Fatalf("header %v", out.Header)
	}
}

func TestEncodeRefusesWhatHTTPWouldNotCarry(t *testing.T) {
	cases := map[string]func(*Request){
		"CRLF in value":    func(r *Request) { r.Header = http.Header{"X-A": {"v\r\nX-B: 1"}} },
		"space in name":    func(r *Request) { r.Header = http.Header{"X A": {"v"}} },
		"method":           func(r *Request) { r.Method = "GET /" },
		"absolute target":  func(r *Request) { r.URI = "http://other/" },
		"space in target":  func(r *Request) { r.URI = "/a b" },
		"host":             func(r *Request) { r.Host = "a\nb" },
		"scheme":           func(r *Request) { r.Scheme = "ftp" },
		"too many headers": func(r *Request) { r.Header = manyHeaders(MaxHeaders + 1) },
	}
	for name, mutate := range cases {
		r := sampleRequest()
		mutate(r)
		if b, err := AppendRequest([]byte("keep"), r, nil); err == nil || string(b) != "keep" {
			t.Errorf("%s: err %v, buffer %q", name, err, b)
		}
	}
	if _, err := AppendResponse(nil, 42, nil, nil); err == nil {
		t.Error("status 42 encoded")
	}
	if _, err := AppendResponse(nil, 200, http.Header{"X": {"\x00"}}, nil); err == nil {
		t.Error("NUL in a response field encoded")
	}
}

func manyHeaders(n int) http.Header {
	h := http.Header{}
	for i := 0; i < n; i++ {
		h.Add("X-H", "v")
	}
	return h
}

func TestDecodeRefusesMalformed(t *testing.T) {
	good, _ := AppendRequest(nil, sampleRequest(), nil)
	p := payload(t, good)
	cases := map[string][]byte{
		"empty":         {},
		"wrong kind":    append([]byte{'R'}, p[1:]...),
		"truncated":     p[:len(p)-1],
		"trailing":      append(append([]byte{}, p...), 0),
		"huge length":   {'Q', 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad varint":    {'Q', 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
		"bad scheme":    badScheme(t),
		"header count":  rawRequest(MaxHeaders+1, nil),
		"ctl in value":  rawRequest(1, []string{"X-A", "a\rb"}),
		"bad name":      rawRequest(1, []string{"X:A", "b"}),
		"missing value": rawRequest(2, []string{"X-A", "b"}),
	}
	for name, in := range cases {
		if _, err := DecodeRequest(in); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: err %v, want ErrFrame", name, err)
		}
	}
	resp, _ := AppendResponse(nil, 200, nil, []byte("x"))
	rp := payload(t, resp)
	for name, in := range map[string][]byte{
		"request kind": p,
		"status 99":    {'R', 99, 0, 0},
		"status 150":   {'R', 0x96, 0x01, 0, 0},
		"status 1000":  {'R', 0xe8, 0x07, 0, 0},
		"truncated":    rp[:len(rp)-1],
	} {
		if _, err := DecodeResponse(in); !errors.Is(err, ErrFrame) {
			t.Errorf("response %s: err %v, want ErrFrame", name, err)
		}
	}
}

// badScheme encodes a request whose scheme the encoder would refuse.
func badScheme(t *testing.T) []byte {
	t.Helper()
	b, err := AppendRequest(nil, sampleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := payload(t, b)
	i := bytes.Index(p, []byte("\x05https"))
	copy(p[i+1:], "ftp:/")
	return p
}

// rawRequest builds a payload with a declared header count and the given
// name/value strings, bypassing the encoder's checks.
func rawRequest(count int, fields []string) []byte {
	b := []byte{'Q'}
	for _, s := range []string{"GET", "/", "h", "r", "http"} {
		b = appendStr(b, s)
	}
	b = append(b, byte(count&0x7f|0x80), byte(count>>7))
	for _, f := range fields {
		b = appendStr(b, f)
	}
	return append(b, 0)
}

func TestReadFrameLimits(t *testing.T) {
	frame, _ := AppendResponse(nil, 200, nil, bytes.Repeat([]byte("x"), 100))
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(frame)), nil, 50); !errors.Is(err, ErrFrame) {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(frame[:20])), nil, 1000); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut short: %v", err)
	}
	if _, err := ReadFrame(bufio.NewReader(strings.NewReader("")), nil, 1000); err != io.EOF {
		t.Fatalf("nothing: %v", err)
	}
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader([]byte{0, 0, 0, 0})), nil, 1000); !errors.Is(err, ErrFrame) {
		t.Fatalf("empty payload: %v", err)
	}
}

// FuzzDecodeRequest: arbitrary payloads never panic, and whatever decodes
// re-encodes to a frame that decodes to the same request.
func FuzzDecodeRequest(f *testing.F) {
	good, _ := AppendRequest(nil, sampleRequest(), nil)
	f.Add(good[4:])
	f.Add(rawRequest(1, []string{"X-A", "b"}))
	f.Add([]byte{'Q'})
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := DecodeRequest(p)
		if err != nil {
			return
		}
		b, err := AppendRequest(nil, r, nil)
		if err != nil {
			t.Fatalf("decoded request does not encode: %v (%+v)", err, r)
		}
		r2, err := DecodeRequest(b[4:])
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if r.Method != r2.Method || r.URI != r2.URI || r.Host != r2.Host || r.Remote != r2.Remote || r.Scheme != r2.Scheme ||
			!bytes.Equal(r.Body, r2.Body) || !reflect.DeepEqual(r.Header, r2.Header) {
			t.Fatalf("round trip changed the request: %+v vs %+v", r, r2)
		}
	})
}

// FuzzDecodeResponse: a plugin's answer never panics the daemon.
func FuzzDecodeResponse(f *testing.F) {
	good, _ := AppendResponse(nil, 200, http.Header{"A": {"b"}}, []byte("body"))
	f.Add(good[4:])
	f.Add([]byte{'R', 0xc8, 0x01, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := DecodeResponse(p)
		if err != nil {
			return
		}
		if !ValidStatus(r.Status) {
			t.Fatalf("status %d decoded", r.Status)
		}
		b, err := AppendResponse(nil, r.Status, r.Header, r.Body)
		if err != nil {
			t.Fatalf("decoded response does not encode: %v", err)
		}
		r2, err := DecodeResponse(b[4:])
		if err != nil {
			t.Fatalf("re-encoded response does not decode: %v", err)
		}
		if r.Status != r2.Status || !bytes.Equal(r.Body, r2.Body) || !reflect.DeepEqual(r.Header, r2.Header) {
			t.Fatalf("round trip changed the response: %+v vs %+v", r, r2)
		}
	})
}

// FuzzReadFrame: a stream of arbitrary bytes yields frames within the
// limit or errors, never a panic or an oversized allocation.
func FuzzReadFrame(f *testing.F) {
	good, _ := AppendResponse(nil, 200, nil, []byte("x"))
	f.Add(append(good, good...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, stream []byte) {
		br := bufio.NewReader(bytes.NewReader(stream))
		var buf []byte
		for i := 0; i < 100; i++ {
			var err error
			buf, err = ReadFrame(br, buf, 1<<16)
			if err != nil {
				return
			}
			if len(buf) > 1<<16 {
				t.Fatalf("frame of %d bytes past the limit", len(buf))
			}
		}
	})
}

// A request as the gateway forwards it: a handful of canonical fields.
func BenchmarkDecodeRequest(b *testing.B) {
	in := sampleRequest()
	for _, k := range []string{"Accept", "User-Agent", "X-Request-Id", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		in.Header[k] = []string{"value-of-" + k}
	}
	frame, err := AppendRequest(nil, in, nil)
	if err != nil {
		b.Fatal(err)
	}
	p := payload(b, frame)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(p); err != nil {
			b.Fatal(err)
		}
	}
}
