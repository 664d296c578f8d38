package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"testing"
)

func TestAEADRoundTrip(t *testing.T) {
	h := newTestHandler()
	for _, alg := range aeadAlgorithms() {
		for _, size := range []int{0, 1, 1024} {
			t.Run(fmt.Sprintf("ok/%s/%d", alg.name, size), func(t *testing.T) {
				key := make([]byte, alg.keySize)
				pt := make([]byte, size)
				rand.Read(key)
				rand.Read(pt)
				aad := []byte("header")
				var enc encryptResponse
				post(t, h, "/crypto/encrypt", encryptRequest{Algorithm: alg.name, Key: b64s(key), Plaintext: b64s(pt), AAD: b64s(aad)}, &enc)
				if enc.Algorithm != alg.name {
					t.Fatalf("algorithm %q", enc.Algorithm)
				}
				if n := len(mustDecode(t, enc.Nonce)); n != alg.nonceSize {
					t.Fatalf("nonce of %d bytes", n)
				}
				if n := len(mustDecode(t, enc.Ciphertext)); n != size+aeadTagSize {
					t.Fatalf("ciphertext of %d bytes", n)
				}
				var dec decryptResponse
				post(t, h, "/crypto/decrypt", decryptRequest{Algorithm: alg.name, Key: b64s(key), Nonce: &enc.Nonce, Ciphertext: &enc.Ciphertext, AAD: b64s(aad)}, &dec)
				if !bytes.Equal(mustDecode(t, dec.Plaintext), pt) {
					t.Fatal("plaintext differs")
				}
			})
		}
	}
}

// TestAEADDecryptionFailed checks that every authentication failure gets the
// same answer, so the API is no oracle for which input was wrong.
func TestAEADDecryptionFailed(t *testing.T) {
	h := newTestHandler()
	for _, alg := range aeadAlgorithms() {
		key := make([]byte, alg.keySize)
		rand.Read(key)
		var enc encryptResponse
		post(t, h, "/crypto/encrypt", encryptRequest{Algorithm: alg.name, Key: b64s(key), Plaintext: b64s([]byte("attack at dawn")), AAD: b64s([]byte("a"))}, &enc)
		ct := mustDecode(t, enc.Ciphertext)
		nonce := mustDecode(t, enc.Nonce)
		otherKey := bytes.Clone(key)
		otherKey[0] ^= 1
		badTag := bytes.Clone(ct)
		badTag[len(badTag)-1] ^= 1
		badBody := bytes.Clone(ct)
		badBody[0] ^= 1
		otherNonce := bytes.Clone(nonce)
		otherNonce[0] ^= 1
		tests := []struct {
			name                string
			key, nonce, ct, aad []byte
		}{
			{"fail/wrong-key", otherKey, nonce, ct, []byte("a")},
			{"fail/wrong-tag", key, nonce, badTag, []byte("a")},
			{"fail/wrong-ciphertext", key, nonce, badBody, []byte("a")},
			{"fail/wrong-aad", key, nonce, ct, []byte("b")},
			{"fail/missing-aad", key, nonce, ct, nil},
			{"fail/wrong-nonce", key, otherNonce, ct, []byte("a")},
		}
		for _, tc := range tests {
			t.Run(alg.name+"/"+tc.name, func(t *testing.T) {
				req := decryptRequest{Algorithm: alg.name, Key: b64s(tc.key), Nonce: b64s(tc.nonce), Ciphertext: b64s(tc.ct)}
				if tc.aad != nil {
					req.AAD = b64s(tc.aad)
				}
				desc := wantError(t, serve(h, http.MethodPost, "/crypto/decrypt", req), http.StatusBadRequest, codeDecryptionFailed)
				if desc != decryptionFailedDescription {
					t.Fatalf("description %q", desc)
				}
			})
		}
	}
}

// TestAEADNonceFromRand shows the default nonce is drawn from the injected
// reader: two servers on the same seeded stream produce the same output.
func TestAEADNonceFromRand(t *testing.T) {
	for _, alg := range aeadAlgorithms() {
		t.Run("ok/"+alg.name, func(t *testing.T) {
			req := encryptRequest{Algorithm: alg.name, Key: b64s(make([]byte, alg.keySize)), Plaintext: b64s([]byte("x"))}
			var a, b encryptResponse
			ra, rb := newSeededReader(7), newSeededReader(7)
			post(t, newServer(ra).Handler(), "/crypto/encrypt", req, &a)
			post(t, newServer(rb).Handler(), "/crypto/encrypt", req, &b)
			if a != b {
				t.Fatalf("outputs differ: %+v %+v", a, b)
			}
			want := make([]byte, alg.nonceSize)
			newSeededReader(7).Read(want)
			if !bytes.Equal(mustDecode(t, a.Nonce), want) || ra.n != alg.nonceSize {
				t.Fatalf("nonce %s is not the first %d bytes of the reader (read %d)", a.Nonce, alg.nonceSize, ra.n)
			}
		})
	}
}

func TestAEADCallerNonce(t *testing.T) {
	r := newSeededReader(1)
	s := newServer(r).Handler()
	nonce := bytes.Repeat([]byte{9}, 12)
	var enc encryptResponse
	post(t, s, "/crypto/encrypt", encryptRequest{Algorithm: "AES-256-GCM", Key: b64s(make([]byte, 32)), Plaintext: b64s(nil), Nonce: b64s(nonce)}, &enc)
	if enc.Nonce != encode(nonce) || r.n != 0 {
		t.Fatalf("caller nonce not used (nonce %s, %d random bytes read)", enc.Nonce, r.n)
	}
}

// aeadVectors is the shape of the Wycheproof AEAD files.
type aeadVectors struct {
	wycheproofFile
	TestGroups []struct {
		KeySize int `json:"keySize"`
		IVSize  int `json:"ivSize"`
		TagSize int `json:"tagSize"`
		Tests   []struct {
			wycheproofTest
			Key hexBytes `json:"key"`
			IV  hexBytes `json:"iv"`
			AAD hexBytes `json:"aad"`
			Msg hexBytes `json:"msg"`
			CT  hexBytes `json:"ct"`
			Tag hexBytes `json:"tag"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// TestWycheproofAEAD runs the Wycheproof AEAD vectors through the handler.
//
// Groups that do not fit an algorithm's fixed sizes are not run as
// encryptions: aes_gcm_test.json's 128- and 192-bit key groups (the API
// offers AES-256 only) and its groups with IVs other than 96 bits (the API
// takes exactly 12-byte nonces, as NIST SP 800-38D recommends); ChaCha20's
// and XChaCha20's InvalidNonceSize groups. Each of their cases must still be
// refused by /crypto/decrypt with 400 invalid_request. Their "valid" cases
// are counted as skipped (valid GCM, outside this API), their "invalid" ones
// as rejected. All tags in the pinned files are 128 bits, the API's size.
//
// Acceptable cases: the pinned files hold none. Should a later file add one,
// the test fails until a decision is written here.
func TestWycheproofAEAD(t *testing.T) {
	h := newTestHandler()
	files := []struct{ file, alg string }{
		{"aes_gcm_test.json", "AES-256-GCM"},
		{"chacha20_poly1305_test.json", "ChaCha20-Poly1305"},
		{"xchacha20_poly1305_test.json", "XChaCha20-Poly1305"},
	}
	for _, f := range files {
		t.Run(f.alg, func(t *testing.T) {
			var v aeadVectors
			loadWycheproof(t, f.file, &v)
			alg, err := findAEAD(f.alg)
			if err != nil {
				t.Fatal(err)
			}
			var c vectorCounter
			for _, g := range v.TestGroups {
				fits := g.KeySize == alg.keySize*8 && g.IVSize == alg.nonceSize*8 && g.TagSize == aeadTagSize*8
				for _, tc := range g.Tests {
					name := fmt.Sprintf("tcId %d (%s)", tc.TcID, tc.Comment)
					ctTag := append(bytes.Clone(tc.CT), tc.Tag...)
					dreq := decryptRequest{Algorithm: alg.name, Key: b64s(tc.Key), Nonce: b64s(tc.IV), Ciphertext: b64s(ctTag), AAD: b64s(tc.AAD)}
					rec := serve(h, http.MethodPost, "/crypto/decrypt", dreq)
					if !fits {
						if rec.Code != http.StatusBadRequest {
							t.Fatalf("%s: out-of-API sizes answered %d", name, rec.Code)
						}
						wantError(t, rec, http.StatusBadRequest, "invalid_request")
						if tc.Result == "invalid" {
							c.invalid++
						} else {
							c.skipped++
						}
						continue
					}
					c.add(t, tc.Result)
					switch tc.Result {
					case "valid":
						if rec.Code != http.StatusOK {
							t.Fatalf("%s: valid vector not decrypted: %s", name, rec.Body.String())
						}
						var dec decryptResponse
						post(t, h, "/crypto/decrypt", dreq, &dec)
						if !bytes.Equal(mustDecode(t, dec.Plaintext), tc.Msg) {
							t.Fatalf("%s: wrong plaintext", name)
						}
						var enc encryptResponse
						post(t, h, "/crypto/encrypt", encryptRequest{Algorithm: alg.name, Key: b64s(tc.Key), Nonce: b64s(tc.IV), Plaintext: b64s(tc.Msg), AAD: b64s(tc.AAD)}, &enc)
						if !bytes.Equal(mustDecode(t, enc.Ciphertext), ctTag) {
							t.Fatalf("%s: wrong ciphertext", name)
						}
					case "invalid":
						wantError(t, rec, http.StatusBadRequest, codeDecryptionFailed)
						var enc encryptResponse
						post(t, h, "/crypto/encrypt", encryptRequest{Algorithm: alg.name, Key: b64s(tc.Key), Nonce: b64s(tc.IV), Plaintext: b64s(tc.Msg), AAD: b64s(tc.AAD)}, &enc)
						if bytes.Equal(mustDecode(t, enc.Ciphertext), ctTag) {
							t.Fatalf("%s: invalid vector reproduced by encryption", name)
						}
					default:
						t.Fatalf("%s: acceptable vector with no recorded decision", name)
					}
				}
			}
			c.check(t, f.file, v.NumberOfTests)
		})
	}
}

func FuzzEncrypt(f *testing.F) {
	key := encode(make([]byte, 32))
	f.Add([]byte(`{"algorithm":"AES-256-GCM","key":"` + key + `","plaintext":"aGVsbG8"}`))
	f.Add([]byte(`{"algorithm":"XChaCha20-Poly1305","key":"` + key + `","plaintext":"","aad":"AA","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Add([]byte(`{"algorithm":"ChaCha20-Poly1305","key":"` + key + `","plaintext":"","nonce":"AAAA"}`))
	f.Add([]byte(`{"algorithm":"AES-256-GCM","key":"AA==","plaintext":null}`))
	f.Add([]byte(`{"algorithm":1}`))
	f.Add([]byte(`{`))
	f.Add([]byte(``))
	h := newTestHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		var in encryptRequest
		var out encryptResponse
		if !fuzzPost(t, h, "/crypto/encrypt", body, &in, &out) {
			return
		}
		// What was sealed opens again, with the same key and AAD.
		dec := serve(h, http.MethodPost, "/crypto/decrypt", decryptRequest{Algorithm: in.Algorithm, Key: in.Key, Nonce: &out.Nonce, Ciphertext: &out.Ciphertext, AAD: in.AAD})
		var pt decryptResponse
		if dec.Code != http.StatusOK || jsonUnmarshal(dec.Body.Bytes(), &pt) != nil {
			t.Fatalf("decrypt of our own ciphertext: %d %s", dec.Code, dec.Body)
		}
		if !bytes.Equal(mustDecode(t, pt.Plaintext), mustDecode(t, *in.Plaintext)) {
			t.Fatalf("decrypted %q, sealed %q", pt.Plaintext, *in.Plaintext)
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	key := encode(make([]byte, 32))
	f.Add([]byte(`{"algorithm":"AES-256-GCM","key":"` + key + `","nonce":"AAAAAAAAAAAAAAAA","ciphertext":"AAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Add([]byte(`{"algorithm":"ChaCha20-Poly1305","key":"` + key + `","nonce":"AAAAAAAAAAAAAAAA","ciphertext":"","aad":"AA"}`))
	f.Add([]byte(`{"algorithm":"XChaCha20-Poly1305","key":"` + key + `","nonce":"AA","ciphertext":"AA"}`))
	f.Add([]byte(`{"algorithm":"AES-256-GCM","extra":true}`))
	f.Add([]byte(`[]`))
	h := newTestHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzzResponse(t, serve(h, http.MethodPost, "/crypto/decrypt", body))
	})
}
