package main

import (
	"bytes"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudflare/circl/pki"
)

// readPEM reads the DER of a PEM file in testdata/lamps.
func readPEM(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "lamps", name))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	return b.Bytes
}

// lampsSeed is the seed of the LAMPS ML-KEM examples: 0x00 0x01 … 0x3f.
func lampsSeed(n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = byte(i)
	}
	return s
}

func TestLAMPSMLKEMExamples(t *testing.T) {
	h := newTestServer(t, config{}, nil).Handler()
	seed := encode64(lampsSeed(64))
	for _, alg := range []string{"ML-KEM-512", "ML-KEM-768"} {
		t.Run("ok/seed_form/"+alg, func(t *testing.T) {
			var kg kemKeygenResponse
			post(t, h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: alg, Seed: seed, Format: formatDER}, &kg)
			if want := readPEM(t, alg+"-seed.priv"); !bytes.Equal(b64d(t, kg.PrivateKey), want) {
				t.Fatalf("PKCS#8 differs from the LAMPS example")
			}
		})
	}
	var raw kemKeygenResponse
	post(t, h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768", Seed: seed}, &raw)
	var enc kemEncapsulateResponse
	post(t, h, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: "ML-KEM-768", PublicKey: raw.PublicKey}, &enc)
	for _, file := range []string{"ML-KEM-768-seed.priv", "ML-KEM-768-both.priv", "ML-KEM-768-expanded.priv"} {
		t.Run("ok/decapsulate/"+file, func(t *testing.T) {
			var dec kemDecapsulateResponse
			post(t, h, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: "ML-KEM-768", PrivateKey: encode64(readPEM(t, file)), Ciphertext: enc.Ciphertext, Format: formatPKCS8}, &dec)
			if dec.SharedSecret != enc.SharedSecret {
				t.Fatal("shared secret differs")
			}
		})
	}
	t.Run("ok/expanded_matches_raw_keygen", func(t *testing.T) {
		k, err := parsePKCS8(readPEM(t, "ML-KEM-768-expanded.priv"))
		if err != nil {
			t.Fatal(err)
		}
		_, expanded, err := parseKeyChoice(k.privateKey)
		if err != nil || !bytes.Equal(expanded, b64d(t, raw.PrivateKey)) {
			t.Fatalf("expanded key differs from keygen's private_key (%v)", err)
		}
	})
	t.Run("fail/both_mismatch", func(t *testing.T) {
		der := readPEM(t, "ML-KEM-768-both.priv")
		der[len(der)-100] ^= 1 // inside expandedKey
		e := postErr(t, h, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: "ML-KEM-768", PrivateKey: encode64(der), Ciphertext: enc.Ciphertext, Format: formatPKCS8}, http.StatusBadRequest)
		if e.Error != codeInvalidKey {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("fail/wrong_parameter_set", func(t *testing.T) {
		e := postErr(t, h, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: "ML-KEM-1024", PrivateKey: encode64(readPEM(t, "ML-KEM-768-seed.priv")), Ciphertext: encode64(make([]byte, 1568)), Format: formatPKCS8}, http.StatusBadRequest)
		if e.Error != codeInvalidKey {
			t.Fatalf("%+v", e)
		}
	})
}

func TestLAMPSSLHDSAExample(t *testing.T) {
	privDER, pubDER := readPEM(t, "SLH-DSA-SHA2-128s.priv"), readPEM(t, "SLH-DSA-SHA2-128s.pub")
	s := newTestServer(t, config{}, nil)
	a := s.reg.findSig("SLH-DSA-SHA2-128s")
	k, err := parsePKCS8(privDER)
	if err != nil {
		t.Fatal(err)
	}
	oid, pub, err := parseSPKI(pubDER)
	if err != nil {
		t.Fatal(err)
	}
	if !k.oid.Equal(a.oid) || !oid.Equal(a.oid) {
		t.Fatalf("OIDs %s / %s, want %s", k.oid, oid, a.oid)
	}
	if !bytes.Equal(marshalPKCS8(a.oid, k.privateKey), privDER) || !bytes.Equal(marshalSPKI(a.oid, pub), pubDER) {
		t.Fatal("re-encoding differs from the RFC 9909 example")
	}
	sk, err := slhPrivate(a, k.privateKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(slhPublicOf(sk), pub) {
		t.Fatal("the example's public key does not belong to its private key")
	}
	h := s.Handler()
	det := true
	msg := encode64([]byte("RFC 9909"))
	var sg sigSignResponse
	post(t, h, "/pqc/slh-dsa/sign", sigSignRequest{Algorithm: a.name, PrivateKey: encode64(privDER), Message: msg, Deterministic: &det, Format: formatPKCS8}, &sg)
	var v sigVerifyResponse
	post(t, h, "/pqc/slh-dsa/verify", sigVerifyRequest{Algorithm: a.name, PublicKey: encode64(pubDER), Message: msg, Signature: sg.Signature, Format: formatSPKI}, &v)
	if !v.Valid {
		t.Fatal("signature with the example key does not verify")
	}
}

// TestMLDSAEncodingMatchesCircl compares the ML-DSA DER encodings with
// circl's independent pki package, both ways.
func TestMLDSAEncodingMatchesCircl(t *testing.T) {
	s := newTestServer(t, config{}, nil)
	h := s.Handler()
	seed := lampsSeed(32)
	for _, name := range []string{"ML-DSA-44", "ML-DSA-65", "ML-DSA-87"} {
		t.Run("ok/"+name, func(t *testing.T) {
			a := s.reg.findSig(name)
			var kg sigKeygenResponse
			post(t, h, "/pqc/ml-dsa/keygen", sigKeygenRequest{Algorithm: name, Seed: encode64(seed), Format: formatDER}, &kg)
			pk, sk := a.scheme.DeriveKey(seed)
			wantPub, err := pki.MarshalPKIXPublicKey(pk)
			if err != nil {
				t.Fatal(err)
			}
			wantPriv, err := pki.MarshalPKIXPrivateKey(sk)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b64d(t, kg.PublicKey), wantPub) || !bytes.Equal(b64d(t, kg.PrivateKey), wantPriv) {
				t.Fatal("DER differs from circl's pki")
			}
			back, err := pki.UnmarshalPKIXPrivateKey(b64d(t, kg.PrivateKey))
			if err != nil || !back.Equal(sk) {
				t.Fatalf("circl cannot read our PKCS#8: %v", err)
			}
		})
	}
}

func TestDERParsers(t *testing.T) {
	oid := nistOID(4, 2)
	good := marshalPKCS8(oid, marshalSeedChoice(lampsSeed(64)))
	tests := []struct {
		name string
		der  []byte
		ok   bool
	}{
		{"ok/pkcs8_seed", good, true},
		{"fail/empty", nil, false},
		{"fail/trailing", append(bytes.Clone(good), 0), false},
		{"fail/truncated", good[:len(good)-1], false},
		{"fail/version_2", bytes.Replace(bytes.Clone(good), []byte{2, 1, 0}, []byte{2, 1, 2}, 1), false},
		{"fail/spki_is_not_pkcs8", marshalSPKI(oid, []byte{1, 2, 3}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parsePKCS8(tc.der)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
		})
	}
	spki := marshalSPKI(oid, []byte{1, 2, 3})
	if _, pub, err := parseSPKI(spki); err != nil || !bytes.Equal(pub, []byte{1, 2, 3}) {
		t.Fatalf("SPKI round trip: %v", err)
	}
	for _, bad := range [][]byte{nil, spki[:len(spki)-1], append(bytes.Clone(spki), 0), good} {
		if _, _, err := parseSPKI(bad); err == nil {
			t.Fatalf("parseSPKI accepted %x", bad)
		}
	}
	for _, bad := range [][]byte{nil, {0x80}, {0x04, 0x01}, {0x30, 0x00}, {0x02, 0x01, 0x00}} {
		if _, _, err := parseKeyChoice(bad); err == nil {
			t.Fatalf("parseKeyChoice accepted %x", bad)
		}
	}
}
