package main

// Benchmarks come in pairs: BenchmarkHandler* runs a request through the
// whole handler (routing, strict JSON, base64url, key parsing, response),
// BenchmarkRaw* the bare library call it wraps, with the same per-request
// setup the handler must do (key schedule, nonce, hashing). The ratio of the
// two is the API's overhead:
//
//	go test -run '^$' -bench . ./plugins/crypto

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// benchServe runs one prepared request through h per iteration.
func benchServe(b *testing.B, method, target string, body any) {
	h := newTestHandler()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			b.Fatal(err)
		}
	}
	if rec := serve(h, method, target, raw); rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(method, target, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// benchKey returns a fresh key pair's parsed private key and the request
// form of it.
func benchKey(b *testing.B, alg string) (crypto.Signer, string) {
	kp := testKeypair(b, alg)
	k, err := x509.ParsePKCS8PrivateKey(mustDecode(b, kp.PrivateKey))
	if err != nil {
		b.Fatal(err)
	}
	return k.(crypto.Signer), kp.PrivateKey
}

var benchMsg = bytes.Repeat([]byte{0x5a}, 1024)

func BenchmarkHandlerEncrypt_AES256GCM_1K(b *testing.B) {
	benchServe(b, http.MethodPost, "/crypto/encrypt", encryptRequest{Algorithm: "AES-256-GCM", Key: b64s(make([]byte, 32)), Plaintext: b64s(benchMsg)})
}

func BenchmarkRawAES256GCM_1K(b *testing.B) {
	key, nonce := make([]byte, 32), make([]byte, 12)
	b.SetBytes(int64(len(benchMsg)))
	b.ReportAllocs()
	for b.Loop() {
		block, _ := aes.NewCipher(key)
		g, _ := cipher.NewGCM(block)
		io.ReadFull(rand.Reader, nonce)
		g.Seal(nil, nonce, benchMsg, nil)
	}
}

func BenchmarkHandlerDecrypt_AES256GCM_1K(b *testing.B) {
	key := make([]byte, 32)
	block, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(block)
	nonce := make([]byte, 12)
	ct := g.Seal(nil, nonce, benchMsg, nil)
	benchServe(b, http.MethodPost, "/crypto/decrypt", decryptRequest{Algorithm: "AES-256-GCM", Key: b64s(key), Nonce: b64s(nonce), Ciphertext: b64s(ct)})
}

func BenchmarkHandlerEncrypt_ChaCha20Poly1305_1K(b *testing.B) {
	benchServe(b, http.MethodPost, "/crypto/encrypt", encryptRequest{Algorithm: "ChaCha20-Poly1305", Key: b64s(make([]byte, 32)), Plaintext: b64s(benchMsg)})
}

func BenchmarkRawChaCha20Poly1305_1K(b *testing.B) {
	key, nonce := make([]byte, 32), make([]byte, 12)
	b.SetBytes(int64(len(benchMsg)))
	b.ReportAllocs()
	for b.Loop() {
		a, _ := chacha20poly1305.New(key)
		io.ReadFull(rand.Reader, nonce)
		a.Seal(nil, nonce, benchMsg, nil)
	}
}

func BenchmarkHandlerEncrypt_XChaCha20Poly1305_1K(b *testing.B) {
	benchServe(b, http.MethodPost, "/crypto/encrypt", encryptRequest{Algorithm: "XChaCha20-Poly1305", Key: b64s(make([]byte, 32)), Plaintext: b64s(benchMsg)})
}

func BenchmarkRawXChaCha20Poly1305_1K(b *testing.B) {
	key, nonce := make([]byte, 32), make([]byte, 24)
	b.SetBytes(int64(len(benchMsg)))
	b.ReportAllocs()
	for b.Loop() {
		a, _ := chacha20poly1305.NewX(key)
		io.ReadFull(rand.Reader, nonce)
		a.Seal(nil, nonce, benchMsg, nil)
	}
}

func BenchmarkHandlerSign_Ed25519(b *testing.B) {
	_, priv := benchKey(b, "Ed25519")
	benchServe(b, http.MethodPost, "/crypto/sign", signRequest{Algorithm: "Ed25519", PrivateKey: &priv, Message: b64s(benchMsg[:64])})
}

func BenchmarkRawEd25519Sign(b *testing.B) {
	k, _ := benchKey(b, "Ed25519")
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(k.(ed25519.PrivateKey), benchMsg[:64])
	}
}

func BenchmarkHandlerVerify_Ed25519(b *testing.B) {
	kp := testKeypair(b, "Ed25519")
	k, _ := benchKey(b, "Ed25519")
	sig := ed25519.Sign(k.(ed25519.PrivateKey), benchMsg[:64])
	benchServe(b, http.MethodPost, "/crypto/verify", verifyRequest{Algorithm: "Ed25519", PublicKey: &kp.PublicKey, Message: b64s(benchMsg[:64]), Signature: b64s(sig)})
}

func BenchmarkRawEd25519Verify(b *testing.B) {
	k, _ := benchKey(b, "Ed25519")
	pub := k.Public().(ed25519.PublicKey)
	sig := ed25519.Sign(k.(ed25519.PrivateKey), benchMsg[:64])
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Verify(pub, benchMsg[:64], sig)
	}
}

func BenchmarkHandlerSign_ECDSAP256(b *testing.B) {
	_, priv := benchKey(b, "ECDSA-P256")
	benchServe(b, http.MethodPost, "/crypto/sign", signRequest{Algorithm: "ECDSA-P256", PrivateKey: &priv, Message: b64s(benchMsg[:64])})
}

func BenchmarkRawECDSAP256Sign(b *testing.B) {
	k, _ := benchKey(b, "ECDSA-P256")
	b.ReportAllocs()
	for b.Loop() {
		d := sha256.Sum256(benchMsg[:64])
		k.(*ecdsa.PrivateKey).Sign(nil, d[:], crypto.SHA256)
	}
}

func BenchmarkHandlerKeypair_Ed25519(b *testing.B) {
	benchServe(b, http.MethodPost, "/crypto/keypair", keypairRequest{Algorithm: "Ed25519"})
}

func BenchmarkHandlerKeypair_ECDSAP256(b *testing.B) {
	benchServe(b, http.MethodPost, "/crypto/keypair", keypairRequest{Algorithm: "ECDSA-P256"})
}

func BenchmarkHandlerHMAC_SHA256_1K(b *testing.B) {
	benchServe(b, http.MethodPost, "/crypto/hmac", hmacRequest{Algorithm: "HMAC-SHA256", Key: b64s(make([]byte, 32)), Message: b64s(benchMsg)})
}

func BenchmarkRawHMACSHA256_1K(b *testing.B) {
	key := make([]byte, 32)
	b.SetBytes(int64(len(benchMsg)))
	b.ReportAllocs()
	for b.Loop() {
		m := hmac.New(sha256.New, key)
		m.Write(benchMsg)
		m.Sum(nil)
	}
}

func BenchmarkHandlerHash_SHA256_1K(b *testing.B) {
	benchServe(b, http.MethodPost, "/crypto/hash", hashRequest{Algorithm: "SHA-256", Data: b64s(benchMsg)})
}

func BenchmarkRawSHA256_1K(b *testing.B) {
	b.SetBytes(int64(len(benchMsg)))
	b.ReportAllocs()
	for b.Loop() {
		sha256.Sum256(benchMsg)
	}
}

func BenchmarkHandlerDeriveKey_HKDFSHA256_32(b *testing.B) {
	n := 32
	benchServe(b, http.MethodPost, "/crypto/derive-key", deriveKeyRequest{Algorithm: "HKDF-SHA256", IKM: b64s(make([]byte, 32)), Salt: b64s(make([]byte, 32)), Info: b64s([]byte("ctx")), Length: &n})
}

func BenchmarkRawHKDFSHA256_32(b *testing.B) {
	ikm, salt := make([]byte, 32), make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		hkdf.Key(sha256.New, ikm, salt, "ctx", 32)
	}
}

func BenchmarkHandlerRandom_32(b *testing.B) {
	benchServe(b, http.MethodGet, "/crypto/random?bytes=32", nil)
}

func BenchmarkRawRandom_32(b *testing.B) {
	buf := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		io.ReadFull(rand.Reader, buf)
	}
}

func BenchmarkHandlerRandomNumber(b *testing.B) {
	benchServe(b, http.MethodGet, "/random/number?min=1&max=6", nil)
}
