package upstream

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/sdk/gatewire"
)

// benchDo measures one exchange as the gateway makes it: a forwarded
// request with a few fields and a 1 KiB body, a JSON answer, the body read
// and closed.
func benchDo(b *testing.B, p *Pool) {
	body := make([]byte, 1024)
	h := http.Header{
		"Content-Type": {"application/json"}, "User-Agent": {"bench"}, "X-Request-Id": {"0123456789abcdef0123456789abcdef"},
		"X-Forwarded-For": {"127.0.0.1"}, "X-Forwarded-Host": {"gw.test"}, "X-Forwarded-Proto": {"http"},
	}
	buf := make([]byte, 4096)
	b.ReportAllocs()
	for b.Loop() {
		r := Request{Method: "POST", URI: "/crypto/encrypt", Host: "gw.test", Header: h, Body: body,
			Deadline: time.Now().Add(5 * time.Second), Remote: "127.0.0.1:5000", Scheme: "http"}
		resp, err := p.Do(context.Background(), &r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, buf[:resp.ContentLength]); err != nil {
			b.Fatal(err)
		}
		if n, _ := resp.Body.Read(buf); n != 0 {
			b.Fatal("body longer than its length")
		}
		resp.Body.Close()
	}
}

var benchAnswer = []byte(`{"ciphertext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","nonce":"AAAAAAAAAAAAAAAA"}`)

func BenchmarkDoWire(b *testing.B) {
	frame, err := gatewire.AppendResponse(nil, 200, http.Header{
		"Content-Type": {"application/json"}, "X-Request-Id": {"0123456789abcdef0123456789abcdef"},
		"X-Aunsorm-Attested-Time": {"1795000000000"}, "X-Aunsorm-Attestation-Age": {"12"},
	}, benchAnswer)
	if err != nil {
		b.Fatal(err)
	}
	p, _ := wireServer(b, func(int, *gatewire.Request) []byte { return frame })
	benchDo(b, p)
}

func BenchmarkDoHTTP(b *testing.B) {
	p, _ := httpServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(benchAnswer)
	}))
	benchDo(b, p)
}
