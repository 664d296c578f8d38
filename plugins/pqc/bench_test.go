package main

import (
	"bytes"
	"crypto/mlkem"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/slhdsa"
)

// Benchmarks: the same operations through the in-process HTTP handler (JSON,
// base64url, routing) and on the raw libraries, so the difference is the
// handler's share of the cost. `make bench` adds the gateway on top.
//
//	go test -run '^$' -bench . ./plugins/pqc

// benchPost posts a pre-encoded body to the handler b.N times.
func benchPost(b *testing.B, h http.Handler, path string, req any) {
	body, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkHandler(b *testing.B) {
	for _, impl := range []string{implCircl, implGo} {
		h := newTestServer(b, config{Implementation: impl, SLHDSAMaxConcurrency: 64, SLHDSAQueueDepth: 64}, rand.Reader).Handler()
		var kg kemKeygenResponse
		post(b, h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768"}, &kg)
		var enc kemEncapsulateResponse
		post(b, h, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: "ML-KEM-768", PublicKey: kg.PublicKey}, &enc)
		b.Run("ML-KEM-768/encapsulate/"+impl, func(b *testing.B) {
			benchPost(b, h, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: "ML-KEM-768", PublicKey: kg.PublicKey})
		})
		b.Run("ML-KEM-768/decapsulate/"+impl, func(b *testing.B) {
			benchPost(b, h, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: "ML-KEM-768", PrivateKey: kg.Seed, Ciphertext: enc.Ciphertext})
		})
	}
	h := newTestServer(b, config{SLHDSAMaxConcurrency: 64, SLHDSAQueueDepth: 64}, rand.Reader).Handler()
	msg := encode64(make([]byte, 256))
	var dsa sigKeygenResponse
	post(b, h, "/pqc/ml-dsa/keygen", sigKeygenRequest{Algorithm: "ML-DSA-65"}, &dsa)
	var sg sigSignResponse
	post(b, h, "/pqc/ml-dsa/sign", sigSignRequest{Algorithm: "ML-DSA-65", PrivateKey: dsa.PrivateKey, Message: msg}, &sg)
	b.Run("ML-DSA-65/sign", func(b *testing.B) {
		benchPost(b, h, "/pqc/ml-dsa/sign", sigSignRequest{Algorithm: "ML-DSA-65", PrivateKey: dsa.PrivateKey, Message: msg})
	})
	b.Run("ML-DSA-65/verify", func(b *testing.B) {
		benchPost(b, h, "/pqc/ml-dsa/verify", sigVerifyRequest{Algorithm: "ML-DSA-65", PublicKey: dsa.PublicKey, Message: msg, Signature: sg.Signature})
	})
	var slh sigKeygenResponse
	post(b, h, "/pqc/slh-dsa/keygen", sigKeygenRequest{Algorithm: "SLH-DSA-SHA2-128f"}, &slh)
	b.Run("SLH-DSA-SHA2-128f/sign", func(b *testing.B) {
		benchPost(b, h, "/pqc/slh-dsa/sign", sigSignRequest{Algorithm: "SLH-DSA-SHA2-128f", PrivateKey: slh.PrivateKey, Message: msg})
	})
}

func BenchmarkRaw(b *testing.B) {
	b.Run("ML-KEM-768/encapsulate/circl", func(b *testing.B) {
		pk, _, _ := mlkem768.GenerateKeyPair(rand.Reader)
		ct, ss, seed := make([]byte, mlkem768.CiphertextSize), make([]byte, mlkem768.SharedKeySize), make([]byte, 32)
		for b.Loop() {
			_, _ = rand.Read(seed)
			pk.EncapsulateTo(ct, ss, seed)
		}
	})
	b.Run("ML-KEM-768/decapsulate/circl", func(b *testing.B) {
		pk, sk, _ := mlkem768.GenerateKeyPair(rand.Reader)
		ct, ss := make([]byte, mlkem768.CiphertextSize), make([]byte, mlkem768.SharedKeySize)
		pk.EncapsulateTo(ct, ss, nil)
		for b.Loop() {
			sk.DecapsulateTo(ss, ct)
		}
	})
	b.Run("ML-KEM-768/encapsulate/go", func(b *testing.B) {
		dk, _ := mlkem.GenerateKey768()
		ek := dk.EncapsulationKey()
		for b.Loop() {
			ek.Encapsulate()
		}
	})
	b.Run("ML-KEM-768/decapsulate/go", func(b *testing.B) {
		dk, _ := mlkem.GenerateKey768()
		_, ct := dk.EncapsulationKey().Encapsulate()
		for b.Loop() {
			_, _ = dk.Decapsulate(ct)
		}
	})
	msg := make([]byte, 256)
	pk, sk, _ := mldsa65.GenerateKey(rand.Reader)
	sig := make([]byte, mldsa65.SignatureSize)
	b.Run("ML-DSA-65/sign", func(b *testing.B) {
		for b.Loop() {
			_ = mldsa65.SignTo(sk, msg, nil, true, sig)
		}
	})
	b.Run("ML-DSA-65/verify", func(b *testing.B) {
		_ = mldsa65.SignTo(sk, msg, nil, true, sig)
		for b.Loop() {
			mldsa65.Verify(pk, msg, nil, sig)
		}
	})
	b.Run("SLH-DSA-SHA2-128f/sign", func(b *testing.B) {
		_, ssk, _ := slhdsa.GenerateKey(rand.Reader, slhdsa.SHA2_128f)
		for b.Loop() {
			_, _ = slhdsa.SignRandomized(&ssk, rand.Reader, slhdsa.NewMessage(msg), nil)
		}
	})
}
