package main

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
)

// hkdfVectors is the shape of the Wycheproof HKDF files.
type hkdfVectors struct {
	wycheproofFile
	TestGroups []struct {
		Tests []struct {
			wycheproofTest
			IKM  hexBytes `json:"ikm"`
			Salt hexBytes `json:"salt"`
			Info hexBytes `json:"info"`
			Size int      `json:"size"`
			OKM  hexBytes `json:"okm"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// TestWycheproofHKDF runs the HKDF files through /crypto/derive-key. Empty
// salts in the files are sent as an empty salt field, which HKDF treats like
// a missing one. The invalid cases ask for more than 255 blocks and must get
// 400. The pinned files hold no acceptable cases.
func TestWycheproofHKDF(t *testing.T) {
	h := newTestHandler()
	files := []struct{ file, alg string }{
		{"hkdf_sha256_test.json", "HKDF-SHA256"},
		{"hkdf_sha512_test.json", "HKDF-SHA512"},
	}
	for _, f := range files {
		t.Run(f.alg, func(t *testing.T) {
			var v hkdfVectors
			loadWycheproof(t, f.file, &v)
			var c vectorCounter
			for _, g := range v.TestGroups {
				for _, tc := range g.Tests {
					c.add(t, tc.Result)
					name := fmt.Sprintf("tcId %d (%s)", tc.TcID, tc.Comment)
					size := tc.Size
					req := deriveKeyRequest{Algorithm: f.alg, IKM: b64s(tc.IKM), Salt: b64s(tc.Salt), Info: b64s(tc.Info), Length: &size}
					switch tc.Result {
					case "valid":
						var got deriveKeyResponse
						post(t, h, "/crypto/derive-key", req, &got)
						if !bytes.Equal(mustDecode(t, got.Key), tc.OKM) {
							t.Fatalf("%s: wrong output", name)
						}
					case "invalid":
						wantError(t, serve(h, http.MethodPost, "/crypto/derive-key", req), http.StatusBadRequest, "invalid_request")
					default:
						t.Fatalf("%s: acceptable vector with no recorded decision", name)
					}
				}
			}
			c.check(t, f.file, v.NumberOfTests)
		})
	}
}

func TestHKDFDefaults(t *testing.T) {
	h := newTestHandler()
	n := 42
	ikm := b64s([]byte("input keying material"))
	var absent, empty, zeros deriveKeyResponse
	post(t, h, "/crypto/derive-key", deriveKeyRequest{Algorithm: "HKDF-SHA256", IKM: ikm, Length: &n}, &absent)
	post(t, h, "/crypto/derive-key", deriveKeyRequest{Algorithm: "HKDF-SHA256", IKM: ikm, Salt: b64s(nil), Info: b64s(nil), Length: &n}, &empty)
	post(t, h, "/crypto/derive-key", deriveKeyRequest{Algorithm: "HKDF-SHA256", IKM: ikm, Salt: b64s(make([]byte, 32)), Length: &n}, &zeros)
	if absent != empty || absent != zeros {
		t.Fatal("a missing salt is not HKDF's all-zero default")
	}
	if got := len(mustDecode(t, absent.Key)); got != n {
		t.Fatalf("key of %d bytes", got)
	}
	max := 255 * 64
	var big deriveKeyResponse
	post(t, h, "/crypto/derive-key", deriveKeyRequest{Algorithm: "HKDF-SHA512", IKM: ikm, Length: &max}, &big)
	if got := len(mustDecode(t, big.Key)); got != max {
		t.Fatalf("key of %d bytes", got)
	}
}

func FuzzDeriveKey(f *testing.F) {
	f.Add([]byte(`{"algorithm":"HKDF-SHA256","ikm":"aWtt","salt":"c2FsdA","info":"aW5mbw","length":32}`))
	f.Add([]byte(`{"algorithm":"HKDF-SHA512","ikm":"aWtt","length":16320}`))
	f.Add([]byte(`{"algorithm":"HKDF-SHA512","ikm":"aWtt","length":16321}`))
	f.Add([]byte(`{"algorithm":"HKDF-SHA256","ikm":"aWtt","length":-1}`))
	f.Add([]byte(`{"algorithm":"HKDF-SHA256","ikm":"aWtt","length":99999999999999999999}`))
	f.Add([]byte(`{"algorithm":"HKDF-SHA256","ikm":"aWtt","length":1e2}`))
	h := newTestHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzzResponse(t, serve(h, http.MethodPost, "/crypto/derive-key", body))
	})
}
