package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// keyCache generates one key pair per algorithm per test binary: RSA
// generation is the slow part of this suite.
var keyCache sync.Map // algorithm name -> keypairResponse

// testKeypair returns a key pair for alg made through the handler.
func testKeypair(t testing.TB, alg string) keypairResponse {
	t.Helper()
	if kp, ok := keyCache.Load(alg); ok {
		return kp.(keypairResponse)
	}
	var kp keypairResponse
	post(t, newTestHandler(), "/crypto/keypair", keypairRequest{Algorithm: alg}, &kp)
	keyCache.Store(alg, kp)
	return kp
}

func TestKeypairSignVerify(t *testing.T) {
	h := newTestHandler()
	msg := []byte("the quick brown fox")
	for _, alg := range signAlgorithms() {
		t.Run("ok/"+alg.name, func(t *testing.T) {
			kp := testKeypair(t, alg.name)
			if kp.Algorithm != alg.name {
				t.Fatalf("algorithm %q", kp.Algorithm)
			}
			priv, err := x509.ParsePKCS8PrivateKey(mustDecode(t, kp.PrivateKey))
			if err != nil {
				t.Fatalf("private key is not PKCS#8: %v", err)
			}
			pub, err := x509.ParsePKIXPublicKey(mustDecode(t, kp.PublicKey))
			if err != nil {
				t.Fatalf("public key is not SPKI: %v", err)
			}
			if !alg.matches(priv) || !alg.matches(pub) {
				t.Fatalf("generated %s / %s", describeKey(priv), describeKey(pub))
			}
			var sig signResponse
			post(t, h, "/crypto/sign", signRequest{Algorithm: alg.name, PrivateKey: &kp.PrivateKey, Message: b64s(msg)}, &sig)
			for _, tc := range []struct {
				name string
				msg  []byte
				sig  []byte
				want bool
			}{
				{"ok", msg, mustDecode(t, sig.Signature), true},
				{"other-message", []byte("the quick brown fix"), mustDecode(t, sig.Signature), false},
				{"flipped-signature", msg, flip(mustDecode(t, sig.Signature)), false},
				{"empty-signature", msg, []byte{}, false},
			} {
				var v verifyResponse
				post(t, h, "/crypto/verify", verifyRequest{Algorithm: alg.name, PublicKey: &kp.PublicKey, Message: b64s(tc.msg), Signature: b64s(tc.sig)}, &v)
				if v.Valid != tc.want {
					t.Fatalf("%s: valid=%v, want %v", tc.name, v.Valid, tc.want)
				}
			}
		})
	}
}

// flip returns p with its last bit flipped.
func flip(p []byte) []byte {
	q := bytes.Clone(p)
	q[len(q)-1] ^= 1
	return q
}

func TestKeyMismatch(t *testing.T) {
	h := newTestHandler()
	tests := []struct {
		name    string
		alg     string
		keyFrom string
		want    string
	}{
		{"fail/p384-key-for-p256", "ECDSA-P256", "ECDSA-P384", "ECDSA-P256 needs an ECDSA P-256 key, got an ECDSA P-384 key"},
		{"fail/p256-key-for-p384", "ECDSA-P384", "ECDSA-P256", "needs an ECDSA P-384 key"},
		{"fail/ed25519-key-for-rsa", "RSA-PSS-2048", "Ed25519", "got an Ed25519 key"},
		{"fail/rsa-key-for-ed25519", "Ed25519", "RSA-PSS-2048", "got an RSA 2048-bit key"},
		{"fail/rsa2048-key-for-rsa3072", "RSA-PSS-3072", "RSA-PSS-2048", "RSA-PSS-3072 needs an RSA 3072-bit key, got an RSA 2048-bit key"},
		{"fail/ecdsa-key-for-ed25519", "Ed25519", "ECDSA-P256", "got an ECDSA P-256 key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kp := testKeypair(t, tc.keyFrom)
			rec := serve(h, http.MethodPost, "/crypto/sign", signRequest{Algorithm: tc.alg, PrivateKey: &kp.PrivateKey, Message: b64s(nil)})
			if desc := wantError(t, rec, http.StatusBadRequest, codeInvalidKey); !strings.Contains(desc, tc.want) {
				t.Fatalf("sign: description %q lacks %q", desc, tc.want)
			}
			rec = serve(h, http.MethodPost, "/crypto/verify", verifyRequest{Algorithm: tc.alg, PublicKey: &kp.PublicKey, Message: b64s(nil), Signature: b64s(nil)})
			if desc := wantError(t, rec, http.StatusBadRequest, codeInvalidKey); !strings.Contains(desc, tc.want) {
				t.Fatalf("verify: description %q lacks %q", desc, tc.want)
			}
			// A public key where a private one belongs, and the reverse.
			rec = serve(h, http.MethodPost, "/crypto/sign", signRequest{Algorithm: tc.keyFrom, PrivateKey: &kp.PublicKey, Message: b64s(nil)})
			wantError(t, rec, http.StatusBadRequest, codeInvalidKey)
			rec = serve(h, http.MethodPost, "/crypto/verify", verifyRequest{Algorithm: tc.keyFrom, PublicKey: &kp.PrivateKey, Message: b64s(nil), Signature: b64s(nil)})
			wantError(t, rec, http.StatusBadRequest, codeInvalidKey)
		})
	}
}

// TestKeypairFromRand shows that Ed25519 and ECDSA keys and RSA-PSS salts
// come from the injected reader: the same seeded stream gives the same
// output. (RSA key generation is the documented exception.)
func TestKeypairFromRand(t *testing.T) {
	for _, name := range []string{"Ed25519", "ECDSA-P256", "ECDSA-P384"} {
		t.Run("ok/"+name, func(t *testing.T) {
			var a, b keypairResponse
			ra := newSeededReader(3)
			post(t, newServer(ra).Handler(), "/crypto/keypair", keypairRequest{Algorithm: name}, &a)
			post(t, newServer(newSeededReader(3)).Handler(), "/crypto/keypair", keypairRequest{Algorithm: name}, &b)
			if a != b {
				t.Fatal("same seed, different keys")
			}
			if ra.n == 0 {
				t.Fatal("no bytes read from the injected reader")
			}
			var c keypairResponse
			post(t, newServer(newSeededReader(4)).Handler(), "/crypto/keypair", keypairRequest{Algorithm: name}, &c)
			if a.PrivateKey == c.PrivateKey {
				t.Fatal("different seeds, same key")
			}
		})
	}
	t.Run("ok/RSA-PSS-salt", func(t *testing.T) {
		kp := testKeypair(t, "RSA-PSS-2048")
		req := signRequest{Algorithm: "RSA-PSS-2048", PrivateKey: &kp.PrivateKey, Message: b64s([]byte("m"))}
		var a, b, c signResponse
		post(t, newServer(newSeededReader(5)).Handler(), "/crypto/sign", req, &a)
		post(t, newServer(newSeededReader(5)).Handler(), "/crypto/sign", req, &b)
		post(t, newServer(newSeededReader(6)).Handler(), "/crypto/sign", req, &c)
		if a != b || a == c {
			t.Fatal("the PSS salt does not follow the injected reader")
		}
	})
}

// TestECDSADeterministic checks RFC 6979 signing: no randomness is read and
// the same message gives the same signature.
func TestECDSADeterministic(t *testing.T) {
	for _, name := range []string{"ECDSA-P256", "ECDSA-P384"} {
		t.Run("ok/"+name, func(t *testing.T) {
			kp := testKeypair(t, name)
			r := newSeededReader(1)
			h := newServer(r).Handler()
			req := signRequest{Algorithm: name, PrivateKey: &kp.PrivateKey, Message: b64s([]byte("m"))}
			var a, b signResponse
			post(t, h, "/crypto/sign", req, &a)
			post(t, h, "/crypto/sign", req, &b)
			if a != b || r.n != 0 {
				t.Fatalf("signatures differ or %d random bytes were read", r.n)
			}
		})
	}
}

// scriptedReader hands out fixed chunks, then fails.
type scriptedReader struct{ chunks [][]byte }

// Read implements io.Reader; each call must ask for a whole chunk.
func (s *scriptedReader) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, errors.New("script exhausted")
	}
	n := copy(p, s.chunks[0])
	s.chunks = s.chunks[1:]
	return n, nil
}

func TestECDSAKeyRejectionSampling(t *testing.T) {
	ones := bytes.Repeat([]byte{0xff}, 32) // above the P-256 order
	zero := make([]byte, 32)
	good := append(make([]byte, 31), 7)
	t.Run("ok/rejects-zero-and-overflow", func(t *testing.T) {
		k, err := ecdsaKeyFromRand(&scriptedReader{chunks: [][]byte{ones, zero, good}}, elliptic.P256())
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := k.Bytes()
		if !bytes.Equal(raw, good) {
			t.Fatalf("scalar %x, want %x", raw, good)
		}
	})
	t.Run("fail/always-out-of-range", func(t *testing.T) {
		chunks := make([][]byte, maxRejections+1)
		for i := range chunks {
			chunks[i] = ones
		}
		if _, err := ecdsaKeyFromRand(&scriptedReader{chunks: chunks}, elliptic.P256()); !errors.Is(err, errRandomRejected) {
			t.Fatalf("error %v, want errRandomRejected", err)
		}
	})
	t.Run("fail/reader-error", func(t *testing.T) {
		if _, err := ecdsaKeyFromRand(failingReader{}, elliptic.P384()); !errors.Is(err, errRandom) {
			t.Fatalf("error %v, want errRandom", err)
		}
	})
}

// ed25519Vectors is the shape of ed25519_test.json.
type ed25519Vectors struct {
	wycheproofFile
	TestGroups []struct {
		PublicKey struct {
			PK hexBytes `json:"pk"`
		} `json:"publicKey"`
		PublicKeyDer hexBytes `json:"publicKeyDer"`
		Tests        []struct {
			wycheproofTest
			Msg hexBytes `json:"msg"`
			Sig hexBytes `json:"sig"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// sigVectors is the shape of the ECDSA and RSA-PSS verify files.
type sigVectors struct {
	wycheproofFile
	TestGroups []struct {
		KeySize      int      `json:"keySize"`
		SHA          string   `json:"sha"`
		SLen         int      `json:"sLen"`
		PublicKeyDer hexBytes `json:"publicKeyDer"`
		Tests        []struct {
			wycheproofTest
			Msg hexBytes `json:"msg"`
			Sig hexBytes `json:"sig"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// checkVerifyVector runs one verify vector through the handler. A valid
// signature must verify; an invalid one must either verify false (200) or
// have its key refused (400 invalid_key).
func checkVerifyVector(t *testing.T, h http.Handler, c *vectorCounter, alg string, pub []byte, tc wycheproofTest, msg, sig []byte) {
	t.Helper()
	c.add(t, tc.Result)
	name := fmt.Sprintf("%s tcId %d (%s %v)", alg, tc.TcID, tc.Comment, tc.Flags)
	rec := serve(h, http.MethodPost, "/crypto/verify", verifyRequest{Algorithm: alg, PublicKey: b64s(pub), Message: b64s(msg), Signature: b64s(sig)})
	verdict := func() bool {
		var v verifyResponse
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", name, rec.Code, rec.Body)
		}
		if err := jsonUnmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v.Valid
	}
	switch tc.Result {
	case "valid":
		if !verdict() {
			t.Fatalf("%s: valid signature rejected", name)
		}
	case "invalid":
		if rec.Code == http.StatusBadRequest {
			wantError(t, rec, http.StatusBadRequest, codeInvalidKey)
			return
		}
		if verdict() {
			t.Fatalf("%s: invalid signature accepted", name)
		}
	default:
		t.Fatalf("%s: acceptable vector with no recorded decision", name)
	}
}

// TestWycheproofEd25519 runs ed25519_test.json through /crypto/verify. The
// raw public keys are wrapped into SPKI here and checked against the file's
// own DER. The pinned file holds no acceptable cases; a new one fails the
// test until a decision is written down.
func TestWycheproofEd25519(t *testing.T) {
	var v ed25519Vectors
	loadWycheproof(t, "ed25519_test.json", &v)
	h := newTestHandler()
	var c vectorCounter
	for _, g := range v.TestGroups {
		spki, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(g.PublicKey.PK))
		if err != nil {
			t.Fatal(err)
		}
		if len(g.PublicKeyDer) > 0 && !bytes.Equal(spki, g.PublicKeyDer) {
			t.Fatalf("SPKI wrapping differs from the file's publicKeyDer")
		}
		for _, tc := range g.Tests {
			checkVerifyVector(t, h, &c, "Ed25519", spki, tc.wycheproofTest, tc.Msg, tc.Sig)
		}
	}
	c.check(t, "ed25519_test.json", v.NumberOfTests)
}

// TestWycheproofECDSA runs the DER-signature ECDSA files through
// /crypto/verify. Signatures must be strict DER: BER encodings, which the
// files mark invalid, are refused. No acceptable cases in the pinned files.
func TestWycheproofECDSA(t *testing.T) {
	files := []struct{ file, alg, sha string }{
		{"ecdsa_secp256r1_sha256_test.json", "ECDSA-P256", "SHA-256"},
		{"ecdsa_secp384r1_sha384_test.json", "ECDSA-P384", "SHA-384"},
	}
	h := newTestHandler()
	for _, f := range files {
		t.Run(f.alg, func(t *testing.T) {
			var v sigVectors
			loadWycheproof(t, f.file, &v)
			var c vectorCounter
			for _, g := range v.TestGroups {
				if g.SHA != f.sha {
					t.Fatalf("group hash %s in %s", g.SHA, f.file)
				}
				pub, err := x509.ParsePKIXPublicKey(g.PublicKeyDer)
				if err != nil {
					t.Fatalf("publicKeyDer: %v", err)
				}
				if _, ok := pub.(*ecdsa.PublicKey); !ok {
					t.Fatalf("publicKeyDer is %T", pub)
				}
				for _, tc := range g.Tests {
					checkVerifyVector(t, h, &c, f.alg, g.PublicKeyDer, tc.wycheproofTest, tc.Msg, tc.Sig)
				}
			}
			c.check(t, f.file, v.NumberOfTests)
		})
	}
}

// TestWycheproofRSAPSS runs the RSASSA-PSS SHA-256/MGF1-SHA-256/32-byte salt
// files through /crypto/verify, one per modulus size. The *_params_test.json
// variants are not used: their keys carry the id-RSASSA-PSS OID, which
// crypto/x509 does not parse, and the API takes rsaEncryption SPKI. No
// acceptable cases in the pinned files.
func TestWycheproofRSAPSS(t *testing.T) {
	h := newTestHandler()
	for _, bits := range []int{2048, 3072, 4096} {
		alg := fmt.Sprintf("RSA-PSS-%d", bits)
		file := fmt.Sprintf("rsa_pss_%d_sha256_mgf1_32_test.json", bits)
		t.Run(alg, func(t *testing.T) {
			var v sigVectors
			loadWycheproof(t, file, &v)
			var c vectorCounter
			for _, g := range v.TestGroups {
				if g.KeySize != bits || g.SHA != "SHA-256" || g.SLen != 32 {
					t.Fatalf("group parameters %d/%s/%d in %s", g.KeySize, g.SHA, g.SLen, file)
				}
				for _, tc := range g.Tests {
					checkVerifyVector(t, h, &c, alg, g.PublicKeyDer, tc.wycheproofTest, tc.Msg, tc.Sig)
				}
			}
			c.check(t, file, v.NumberOfTests)
		})
	}
}

func FuzzSign(f *testing.F) {
	var kp keypairResponse
	post(f, newTestHandler(), "/crypto/keypair", keypairRequest{Algorithm: "Ed25519"}, &kp)
	f.Add([]byte(`{"algorithm":"Ed25519","private_key":"` + kp.PrivateKey + `","message":"aGk"}`))
	f.Add([]byte(`{"algorithm":"ECDSA-P256","private_key":"` + kp.PrivateKey + `","message":""}`))
	f.Add([]byte(`{"algorithm":"RSA-PSS-2048","private_key":"MAA","message":""}`))
	f.Add([]byte(`{"algorithm":"Ed25519","private_key":"` + kp.PublicKey + `"}`))
	f.Add([]byte(`{"algorithm":"Ed25519","private_key":"***","message":"aGk"}`))
	f.Add([]byte(`{"algorithm":"ECDSA-P521"}`))
	h := newTestHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzzResponse(t, serve(h, http.MethodPost, "/crypto/sign", body))
	})
}

func FuzzVerify(f *testing.F) {
	var kp keypairResponse
	h := newTestHandler()
	post(f, h, "/crypto/keypair", keypairRequest{Algorithm: "ECDSA-P256"}, &kp)
	var sig signResponse
	post(f, h, "/crypto/sign", signRequest{Algorithm: "ECDSA-P256", PrivateKey: &kp.PrivateKey, Message: b64s([]byte("hi"))}, &sig)
	f.Add([]byte(`{"algorithm":"ECDSA-P256","public_key":"` + kp.PublicKey + `","message":"aGk","signature":"` + sig.Signature + `"}`))
	f.Add([]byte(`{"algorithm":"ECDSA-P384","public_key":"` + kp.PublicKey + `","message":"aGk","signature":"` + sig.Signature + `"}`))
	f.Add([]byte(`{"algorithm":"Ed25519","public_key":"MCowBQYDK2VwAyEA","message":"","signature":""}`))
	f.Add([]byte(`{"algorithm":"RSA-PSS-4096","public_key":"","message":"","signature":"AA"}`))
	f.Add([]byte(`{"public_key":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzzResponse(t, serve(h, http.MethodPost, "/crypto/verify", body))
	})
}

// customRandEnabled reports whether this binary runs with GODEBUG
// cryptocustomrand=1, from main.go's //go:debug line or the environment.
func customRandEnabled() bool {
	settings := os.Getenv("GODEBUG")
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "DefaultGODEBUG" {
				settings = s.Value + "," + settings
			}
		}
	}
	on := false
	for _, kv := range strings.Split(settings, ",") {
		switch kv {
		case "cryptocustomrand=1":
			on = true
		case "cryptocustomrand=0":
			on = false
		}
	}
	return on
}

// TestRSAKeygenReader pins down where RSA primes come from: the injected
// reader when cryptocustomrand=1 is in force, else Go's own DRBG (nothing
// read from the injected reader). Either way is tested, and reported.
func TestRSAKeygenReader(t *testing.T) {
	r := newSeededReader(8)
	alg, err := findSign("RSA-PSS-2048")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alg.generate(r); err != nil {
		t.Fatal(err)
	}
	if customRandEnabled() {
		t.Logf("cryptocustomrand=1: RSA key generation read %d bytes from the platform DRBG", r.n)
		if r.n == 0 {
			t.Fatal("cryptocustomrand=1 but nothing was read from the injected reader")
		}
		return
	}
	t.Logf("cryptocustomrand is off: RSA key generation used Go's own DRBG")
	if r.n != 0 {
		t.Fatalf("read %d bytes from the injected reader with cryptocustomrand off", r.n)
	}
}
