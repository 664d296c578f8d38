package main

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// macVectors is the shape of the Wycheproof HMAC files.
type macVectors struct {
	wycheproofFile
	TestGroups []struct {
		KeySize int `json:"keySize"`
		TagSize int `json:"tagSize"`
		Tests   []struct {
			wycheproofTest
			Key hexBytes `json:"key"`
			Msg hexBytes `json:"msg"`
			Tag hexBytes `json:"tag"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// TestWycheproofHMAC runs the HMAC files through /crypto/hmac, computing
// and verifying.
//
// The API computes full-length tags and verifies only full-length tags.
// Groups with truncated tags (tagSize below the hash size) are still run:
// a valid case must equal the prefix of the computed tag, and every case,
// valid or invalid, must fail verification, since accepting a short tag
// would let a caller weaken the MAC at will. The pinned files hold no
// acceptable cases; a new one fails the test until a decision is written.
func TestWycheproofHMAC(t *testing.T) {
	h := newTestHandler()
	files := []struct {
		file, alg string
		size      int
	}{
		{"hmac_sha256_test.json", "HMAC-SHA256", 32},
		{"hmac_sha384_test.json", "HMAC-SHA384", 48},
		{"hmac_sha512_test.json", "HMAC-SHA512", 64},
	}
	for _, f := range files {
		t.Run(f.alg, func(t *testing.T) {
			var v macVectors
			loadWycheproof(t, f.file, &v)
			var c vectorCounter
			for _, g := range v.TestGroups {
				full := g.TagSize == f.size*8
				for _, tc := range g.Tests {
					c.add(t, tc.Result)
					name := fmt.Sprintf("tcId %d (%s)", tc.TcID, tc.Comment)
					var mac hmacResponse
					post(t, h, "/crypto/hmac", hmacRequest{Algorithm: f.alg, Key: b64s(tc.Key), Message: b64s(tc.Msg)}, &mac)
					sum := mustDecode(t, mac.MAC)
					if len(sum) != f.size {
						t.Fatalf("%s: tag of %d bytes", name, len(sum))
					}
					matches := bytes.Equal(sum[:len(tc.Tag)], tc.Tag)
					var ver hmacVerifyResponse
					post(t, h, "/crypto/hmac", hmacRequest{Algorithm: f.alg, Key: b64s(tc.Key), Message: b64s(tc.Msg), MAC: b64s(tc.Tag)}, &ver)
					switch tc.Result {
					case "valid":
						if !matches {
							t.Fatalf("%s: computed tag differs", name)
						}
						if ver.Valid != full {
							t.Fatalf("%s: verify=%v for a tag of %d bits", name, ver.Valid, g.TagSize)
						}
					case "invalid":
						if matches || ver.Valid {
							t.Fatalf("%s: invalid tag accepted", name)
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

func TestHMACVerify(t *testing.T) {
	h := newTestHandler()
	key := []byte("k")
	var mac hmacResponse
	post(t, h, "/crypto/hmac", hmacRequest{Algorithm: "HMAC-SHA256", Key: b64s(key), Message: b64s([]byte("m"))}, &mac)
	sum := mustDecode(t, mac.MAC)
	tests := []struct {
		name string
		mac  []byte
		want bool
	}{
		{"ok/match", sum, true},
		{"fail/flipped", flip(sum), false},
		{"fail/truncated", sum[:16], false},
		{"fail/extended", append(bytes.Clone(sum), 0), false},
		{"fail/empty", []byte{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v hmacVerifyResponse
			post(t, h, "/crypto/hmac", hmacRequest{Algorithm: "HMAC-SHA256", Key: b64s(key), Message: b64s([]byte("m")), MAC: b64s(tc.mac)}, &v)
			if v.Valid != tc.want {
				t.Fatalf("valid=%v, want %v", v.Valid, tc.want)
			}
		})
	}
}

// TestHashOpenSSL checks every digest against OpenSSL, an independent
// implementation, over inputs of several lengths around the block sizes.
func TestHashOpenSSL(t *testing.T) {
	o := newOpenSSL(t)
	h := newTestHandler()
	flags := map[string]string{
		"SHA-256": "-sha256", "SHA-384": "-sha384", "SHA-512": "-sha512",
		"SHA3-256": "-sha3-256", "SHA3-512": "-sha3-512",
	}
	for _, alg := range hashAlgorithms() {
		for _, n := range []int{0, 1, 55, 56, 64, 72, 135, 136, 1000} {
			t.Run(fmt.Sprintf("ok/%s/%d", alg.name, n), func(t *testing.T) {
				data := make([]byte, n)
				rand.Read(data)
				o.write("data.bin", data)
				out, err := o.run("dgst", flags[alg.name], "-r", "data.bin")
				if err != nil {
					t.Fatalf("openssl: %v\n%s", err, out)
				}
				want, err := hex.DecodeString(strings.Fields(out)[0])
				if err != nil {
					t.Fatalf("openssl output %q", out)
				}
				var got hashResponse
				post(t, h, "/crypto/hash", hashRequest{Algorithm: alg.name, Data: b64s(data)}, &got)
				if !bytes.Equal(mustDecode(t, got.Digest), want) {
					t.Fatalf("digest differs from OpenSSL's")
				}
			})
		}
	}
}

func TestHashLengths(t *testing.T) {
	h := newTestHandler()
	want := map[string]int{"SHA-256": 32, "SHA-384": 48, "SHA-512": 64, "SHA3-256": 32, "SHA3-512": 64}
	for _, alg := range hashAlgorithms() {
		t.Run("ok/"+alg.name, func(t *testing.T) {
			var got hashResponse
			post(t, h, "/crypto/hash", hashRequest{Algorithm: alg.name, Data: b64s(nil)}, &got)
			if n := len(mustDecode(t, got.Digest)); n != want[alg.name] {
				t.Fatalf("digest of %d bytes", n)
			}
		})
	}
}

func FuzzHMAC(f *testing.F) {
	f.Add([]byte(`{"algorithm":"HMAC-SHA256","key":"a2V5","message":"bXNn"}`))
	f.Add([]byte(`{"algorithm":"HMAC-SHA512","key":"a2V5","message":"","mac":"AAAA"}`))
	f.Add([]byte(`{"algorithm":"HMAC-SHA384","key":"","message":""}`))
	f.Add([]byte(`{"algorithm":"HMAC-SHA1","key":"a2V5","message":"bXNn"}`))
	f.Add([]byte(`{"algorithm":"HMAC-SHA256","key":"a2V5","message":"bXNn","mac":null}`))
	h := newTestHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzzResponse(t, serve(h, http.MethodPost, "/crypto/hmac", body))
	})
}

func FuzzHash(f *testing.F) {
	f.Add([]byte(`{"algorithm":"SHA-256","data":"aGVsbG8"}`))
	f.Add([]byte(`{"algorithm":"SHA3-512","data":""}`))
	f.Add([]byte(`{"algorithm":"SHA-1","data":""}`))
	f.Add([]byte(`{"algorithm":"SHA-256","data":"aGVsbG8="}`))
	f.Add([]byte(`{"algorithm":"SHA-256","data":"\u0000"}`))
	h := newTestHandler()
	reference := map[string]crypto.Hash{
		"SHA-256": crypto.SHA256, "SHA-384": crypto.SHA384, "SHA-512": crypto.SHA512,
		"SHA3-256": crypto.SHA3_256, "SHA3-512": crypto.SHA3_512,
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in hashRequest
		var out hashResponse
		if !fuzzPost(t, h, "/crypto/hash", body, &in, &out) {
			return
		}
		// The digest is the standard library's for the same algorithm.
		ref, ok := reference[in.Algorithm]
		if !ok {
			t.Fatalf("accepted algorithm %q with no reference", in.Algorithm)
		}
		hh := ref.New()
		hh.Write(mustDecode(t, *in.Data))
		if !bytes.Equal(mustDecode(t, out.Digest), hh.Sum(nil)) {
			t.Fatalf("%s digest differs from the standard library's", in.Algorithm)
		}
	})
}
