package main

import (
	"crypto/sha256"
	"crypto/sha3"
	"encoding/hex"
	"hash"
	"testing"
)

// Accumulated-hash tests, in the manner of crypto/mlkem's TestAccumulated:
// many operations driven by a SHAKE-128 stream, every output hashed into one
// SHA-256, compared with a pinned value. All inputs are seeded: key pairs come
// from seeds in the requests, and the server's random source is another
// SHAKE-128 stream, so encapsulation randomness and hedged-signing randomness
// are fixed too. Everything goes through the HTTP handler.
//
// How the pinned values were derived: the test was run once with circl
// v1.6.5 and the digests printed by the failing assertion were pinned. The
// ML-KEM digest is the same for implementation = "circl" and "go": circl and
// crypto/mlkem agree on every key, ciphertext and shared secret of the run,
// which the test checks for both on every run.
const (
	accumulatedMLKEM  = "9a17e88e0ccc0b7247caca101dfb0c3f3052614e6c0f82901442ea0453296a5b"
	accumulatedOthers = "b3729784614dd2d3c21a6be7b11b2c5edb99528ac022bc0ac5c45a7c3565cd01"
)

// shakeStream is a deterministic byte stream.
func shakeStream(label string) *sha3.SHAKE {
	x := sha3.NewSHAKE128()
	_, _ = x.Write([]byte(label))
	return x
}

func read(x *sha3.SHAKE, n int) []byte {
	b := make([]byte, n)
	_, _ = x.Read(b)
	return b
}

// absorb hashes response fields (base64url text decoded back to bytes).
func absorb(t *testing.T, h hash.Hash, fields ...string) {
	t.Helper()
	for _, f := range fields {
		_, _ = h.Write(b64d(t, f))
	}
}

func TestAccumulatedMLKEM(t *testing.T) {
	const iterations = 100 // per parameter set
	for _, impl := range []string{implCircl, implGo} {
		t.Run("ok/"+impl, func(t *testing.T) {
			s := newTestServer(t, config{Implementation: impl}, shakeStream("aunsorm accumulated drbg"))
			h := s.Handler()
			in := shakeStream("aunsorm accumulated ML-KEM")
			acc := sha256.New()
			for _, alg := range []string{"ML-KEM-512", "ML-KEM-768", "ML-KEM-1024"} {
				ctSize := s.reg.findKEM(alg).scheme.CiphertextSize()
				for range iterations {
					var kg kemKeygenResponse
					post(t, h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: alg, Seed: encode64(read(in, 64))}, &kg)
					var enc kemEncapsulateResponse
					post(t, h, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: alg, PublicKey: kg.PublicKey}, &enc)
					var dec, rej kemDecapsulateResponse
					post(t, h, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: alg, PrivateKey: kg.Seed, Ciphertext: enc.Ciphertext}, &dec)
					if dec.SharedSecret != enc.SharedSecret {
						t.Fatal("decapsulation differs")
					}
					// A random ciphertext exercises implicit rejection.
					post(t, h, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: alg, PrivateKey: kg.Seed, Ciphertext: encode64(read(in, ctSize))}, &rej)
					absorb(t, acc, kg.PublicKey, kg.PrivateKey, enc.Ciphertext, enc.SharedSecret, rej.SharedSecret)
				}
			}
			if got := hex.EncodeToString(acc.Sum(nil)); got != accumulatedMLKEM {
				t.Fatalf("accumulated ML-KEM digest %s, want %s", got, accumulatedMLKEM)
			}
		})
	}
}

func TestAccumulatedOthers(t *testing.T) {
	s := newTestServer(t, config{}, shakeStream("aunsorm accumulated drbg"))
	h := s.Handler()
	in := shakeStream("aunsorm accumulated signatures")
	acc := sha256.New()
	det := true
	for range 50 {
		var kg kemKeygenResponse
		post(t, h, "/pqc/x-wing/keygen", kemKeygenRequest{Seed: encode64(read(in, 32))}, &kg)
		var enc kemEncapsulateResponse
		post(t, h, "/pqc/x-wing/encapsulate", kemEncapsulateRequest{PublicKey: kg.PublicKey}, &enc)
		var dec kemDecapsulateResponse
		post(t, h, "/pqc/x-wing/decapsulate", kemDecapsulateRequest{PrivateKey: kg.PrivateKey, Ciphertext: enc.Ciphertext}, &dec)
		if dec.SharedSecret != enc.SharedSecret {
			t.Fatal("X-Wing decapsulation differs")
		}
		absorb(t, acc, kg.PublicKey, kg.PrivateKey, enc.Ciphertext, enc.SharedSecret)
	}
	sigs := []struct {
		alg, route string
		n, seed    int
	}{
		{"ML-DSA-44", routeMLDSA, 30, 32}, {"ML-DSA-65", routeMLDSA, 30, 32}, {"ML-DSA-87", routeMLDSA, 30, 32},
		{"SLH-DSA-SHA2-128f", routeSLHDSA, 2, 48}, {"SLH-DSA-SHAKE-128f", routeSLHDSA, 2, 48},
	}
	for _, sc := range sigs {
		for range sc.n {
			var kg sigKeygenResponse
			post(t, h, "/pqc/"+sc.route+"/keygen", sigKeygenRequest{Algorithm: sc.alg, Seed: encode64(read(in, sc.seed))}, &kg)
			msg, ctx := encode64(read(in, 33)), encode64(read(in, 7))
			var d, hd sigSignResponse
			post(t, h, "/pqc/"+sc.route+"/sign", sigSignRequest{Algorithm: sc.alg, PrivateKey: kg.PrivateKey, Message: msg, Context: ctx, Deterministic: &det}, &d)
			post(t, h, "/pqc/"+sc.route+"/sign", sigSignRequest{Algorithm: sc.alg, PrivateKey: kg.PrivateKey, Message: msg, Context: ctx}, &hd)
			absorb(t, acc, kg.PublicKey, kg.PrivateKey, d.Signature, hd.Signature)
		}
	}
	if got := hex.EncodeToString(acc.Sum(nil)); got != accumulatedOthers {
		t.Fatalf("accumulated digest %s, want %s", got, accumulatedOthers)
	}
}
