package main

import (
	"bytes"
	"crypto/sha3"
	"fmt"
	"testing"
)

// TestCrossImplementationBackends checks that circl and crypto/mlkem agree
// on ML-KEM-768 and ML-KEM-1024 both ways: the same seed gives the same
// encapsulation key, the same randomness the same ciphertext and shared
// secret, and each decapsulates what the other encapsulated.
func TestCrossImplementationBackends(t *testing.T) {
	impls := []mlkemBackend{circlBackend{}, goBackend{}}
	xof := sha3.NewSHAKE128()
	_, _ = xof.Write([]byte("aunsorm cross-implementation"))
	for _, bits := range []int{768, 1024} {
		t.Run(fmt.Sprintf("ok/ML-KEM-%d", bits), func(t *testing.T) {
			for i := range 50 {
				seed, m := make([]byte, 64), make([]byte, 32)
				_, _ = xof.Read(seed)
				_, _ = xof.Read(m)
				var eks, cts, sss [2][]byte
				for j, b := range impls {
					ek, err := b.encapsulationKey(bits, seed)
					if err != nil {
						t.Fatal(err)
					}
					ct, ss, err := b.encapsulate(bits, ek, m)
					if err != nil {
						t.Fatal(err)
					}
					eks[j], cts[j], sss[j] = ek, ct, ss
				}
				if !bytes.Equal(eks[0], eks[1]) || !bytes.Equal(cts[0], cts[1]) || !bytes.Equal(sss[0], sss[1]) {
					t.Fatalf("iteration %d: circl and go disagree", i)
				}
				for j, b := range impls { // each decapsulates the other's ciphertext
					other := 1 - j
					ss, err := b.decapsulate(bits, seed, cts[other])
					if err != nil || !bytes.Equal(ss, sss[other]) {
						t.Fatalf("iteration %d: %s cannot decapsulate %s's ciphertext (%v)", i, b.name(), impls[other].name(), err)
					}
				}
				bad := bytes.Clone(cts[0]) // implicit rejection agrees too
				bad[i%len(bad)] ^= 0x80
				r0, _ := impls[0].decapsulate(bits, seed, bad)
				r1, _ := impls[1].decapsulate(bits, seed, bad)
				if !bytes.Equal(r0, r1) || bytes.Equal(r0, sss[0]) {
					t.Fatalf("iteration %d: implicit rejection differs", i)
				}
			}
		})
	}
}

// TestCrossImplementationHTTP runs the same exchange across two servers,
// one per implementation, in both directions.
func TestCrossImplementationHTTP(t *testing.T) {
	circlH := newTestServer(t, config{Implementation: implCircl}, testRand(2)).Handler()
	goH := newTestServer(t, config{Implementation: implGo}, testRand(3)).Handler()
	pairs := []struct{ name, keyImpl, encImpl string }{
		{"ok/circl_keys_go_encapsulates", implCircl, implGo},
		{"ok/go_keys_circl_encapsulates", implGo, implCircl},
	}
	for _, p := range pairs {
		for _, alg := range []string{"ML-KEM-768", "ML-KEM-1024"} {
			t.Run(p.name+"/"+alg, func(t *testing.T) {
				keyH, encH := circlH, goH
				if p.keyImpl == implGo {
					keyH, encH = goH, circlH
				}
				var kg kemKeygenResponse
				post(t, keyH, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: alg}, &kg)
				var enc kemEncapsulateResponse
				post(t, encH, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: alg, PublicKey: kg.PublicKey}, &enc)
				if enc.Implementation != p.encImpl {
					t.Fatalf("encapsulated by %s, want %s", enc.Implementation, p.encImpl)
				}
				var dec kemDecapsulateResponse
				post(t, keyH, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: alg, PrivateKey: kg.Seed, Ciphertext: enc.Ciphertext}, &dec)
				if dec.SharedSecret != enc.SharedSecret || dec.Implementation != p.keyImpl {
					t.Fatalf("decapsulation by %s differs", dec.Implementation)
				}
			})
		}
	}
}
