package main

import (
	"bytes"
	"encoding/asn1"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Native fuzz tests for every decoder of untrusted input: the base64url
// fields, the DER parsers, the key parsers of every parameter set and the
// request decoders of every endpoint. Run as plain tests they replay the
// seed corpus only; `go test -fuzz FuzzX` explores further.

var (
	fuzzOnce   sync.Once
	fuzzServer *server
)

// sharedFuzzServer builds one server for all fuzz targets.
func sharedFuzzServer(t testing.TB) *server {
	fuzzOnce.Do(func() {
		s, err := newServer(config{SLHDSAMaxConcurrency: 2, SLHDSAQueueDepth: 64}, testRand(9))
		if err != nil {
			t.Fatal(err)
		}
		fuzzServer = s
	})
	return fuzzServer
}

func FuzzDecode64(f *testing.F) {
	for _, s := range []string{"", "AA", "AA==", "ab+/", "a\nb", "____", "A", "AB", "ABC"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := decode64("field", s)
		if err == nil && encode64(b) != s {
			t.Fatalf("%q decoded but does not re-encode to itself", s)
		}
	})
}

func FuzzParseSPKI(f *testing.F) {
	f.Add(marshalSPKI(nistOID(4, 2), make([]byte, 1184)))
	f.Add(marshalSPKI(nistOID(3, 20), make([]byte, 32)))
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x06})
	f.Fuzz(func(t *testing.T, der []byte) {
		oid, pub, err := parseSPKI(der)
		if err == nil && !bytes.Equal(marshalSPKI(oid, pub), der) {
			t.Fatalf("accepted a non-canonical SPKI %x", der)
		}
	})
}

// FuzzParsePKCS8 checks that parsePKCS8 accepts exactly the DER encodings
// of what it returns: re-encoding the algorithm, private key and public key
// it found (with the attributes, which it skips, copied from the input)
// gives the input back byte for byte, under version 0 or, when there is a
// public key, version 1. So no byte of an accepted key is ignored and no
// non-canonical encoding passes. And any bytes wrapped by marshalPKCS8
// come back unchanged.
func FuzzParsePKCS8(f *testing.F) {
	f.Add(marshalPKCS8(nistOID(4, 2), marshalSeedChoice(make([]byte, 64))))
	f.Add(marshalPKCS8(nistOID(3, 20), make([]byte, 64)))
	f.Add(encodeOneAsymmetricKey(f, 1, nistOID(3, 17), make([]byte, 32), nil, make([]byte, 32)))
	f.Add(encodeOneAsymmetricKey(f, 1, nistOID(4, 1), []byte{1}, []byte{0xa0, 0x02, 0x31, 0x00}, []byte{}))
	f.Add(encodeOneAsymmetricKey(f, 0, nistOID(4, 1), []byte{1}, []byte{0xa0, 0x00}, nil))
	f.Add([]byte{0x30, 0x00})
	f.Add(encodeOneAsymmetricKey(f, 0, nistOID(4, 1), []byte{1}, []byte{0x05, 0x00}, nil))      // a NULL after the private key
	f.Add([]byte{0x30, 0x0b, 0x02, 0x01, 0x00, 0x30, 0x03, 0x06, 0x01, 0x80, 0x04, 0x01, 0x00}) // OID arc not minimal
	f.Add([]byte{0x30, 0x0c, 0x02, 0x02, 0x00, 0x00, 0x30, 0x03, 0x06, 0x01, 0x2a, 0x04, 0x00}) // version not minimal
	f.Fuzz(func(t *testing.T, der []byte) {
		wrapped, err := parsePKCS8(marshalPKCS8(nistOID(4, 2), der))
		if err != nil || !bytes.Equal(wrapped.privateKey, der) || wrapped.publicKey != nil || !wrapped.oid.Equal(nistOID(4, 2)) {
			t.Fatalf("marshalPKCS8 of %x parsed as %+v, %v", der, wrapped, err)
		}

		k, err := parsePKCS8(der)
		if err != nil {
			return
		}
		_, _, _ = parseKeyChoice(k.privateKey)
		// The private key is a slice of der; what follows it up to the end
		// is the optional [0] attributes, then the optional [1] public key.
		off := cap(der) - cap(k.privateKey)
		if off < 0 || off+len(k.privateKey) > len(der) || !bytes.Equal(der[off:off+len(k.privateKey)], k.privateKey) {
			t.Fatalf("the private key is not a part of the input")
		}
		rest := cryptobyte.String(der[off+len(k.privateKey):])
		var attrs cryptobyte.String
		if tag := casn1.Tag(0).Constructed().ContextSpecific(); rest.PeekASN1Tag(tag) && !rest.ReadASN1Element(&attrs, tag) {
			t.Fatalf("accepted %x with attributes that are not one DER element", der)
		}
		v0 := encodeOneAsymmetricKey(t, 0, k.oid, k.privateKey, attrs, k.publicKey)
		v1 := encodeOneAsymmetricKey(t, 1, k.oid, k.privateKey, attrs, k.publicKey)
		switch {
		case bytes.Equal(v0, der) && k.publicKey != nil:
			t.Fatalf("accepted a version 0 key with a public key: %x", der)
		case !bytes.Equal(v0, der) && !bytes.Equal(v1, der):
			t.Fatalf("accepted %x, which is not the DER of what it returned:\nversion 0: %x\nversion 1: %x", der, v0, v1)
		}
	})
}

// encodeOneAsymmetricKey is the tests' own encoder of a OneAsymmetricKey
// (RFC 5958): attrs is a whole [0] element or nil, pub the public key
// without its unused-bits octet, or nil for none.
func encodeOneAsymmetricKey(t testing.TB, version int64, oid asn1.ObjectIdentifier, priv, attrs, pub []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(version)
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
		b.AddASN1OctetString(priv)
		b.AddBytes(attrs)
		if pub != nil {
			b.AddASN1(casn1.Tag(1).ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddUint8(0)
				b.AddBytes(pub)
			})
		}
	})
	out, err := b.Bytes()
	if err != nil {
		t.Fatalf("encoding a OneAsymmetricKey: %v", err)
	}
	return out
}

// FuzzKeyParsers feeds arbitrary bytes to the key and ciphertext parsers of
// every parameter set, in every format.
func FuzzKeyParsers(f *testing.F) {
	s := sharedFuzzServer(f)
	f.Add(0, []byte{})
	f.Add(1, make([]byte, 64))
	f.Add(2, make([]byte, 2400))
	f.Add(3, make([]byte, 32))
	f.Add(7, make([]byte, 4032))
	f.Add(10, make([]byte, 64))
	f.Add(5, marshalPKCS8(nistOID(4, 2), marshalSeedChoice(make([]byte, 64))))
	f.Fuzz(func(t *testing.T, which int, raw []byte) {
		n := len(s.reg.kems) + len(s.reg.sigs)
		i := ((which % n) + n) % n
		if i < len(s.reg.kems) {
			a := s.reg.kems[i]
			for _, format := range []string{formatRaw, formatPKCS8} {
				if format == formatPKCS8 && a.oid == nil {
					continue
				}
				seed, expanded, err := s.kemPrivateKey(a, format, bytes.Clone(raw))
				if err == nil && (seed == nil) == (expanded == nil) {
					t.Fatal("kemPrivateKey returned neither or both forms")
				}
			}
			if a.oid != nil {
				_, _ = publicFromSPKI(&a.algorithm, raw)
			}
			if len(raw) == a.scheme.PublicKeySize() {
				if b := s.backendFor(a); b != nil {
					_, _, _ = b.encapsulate(a.mlkemBits, raw, make([]byte, 32))
				} else {
					_, _ = a.scheme.UnmarshalBinaryPublicKey(raw)
				}
			}
			return
		}
		a := s.reg.sigs[i-len(s.reg.kems)]
		for _, format := range []string{formatRaw, formatPKCS8} {
			if format == formatPKCS8 && a.oid == nil {
				continue
			}
			_, _ = sigPrivateKey(a, format, bytes.Clone(raw))
		}
		if len(raw) == a.scheme.PublicKeySize() {
			if pk, err := sigPublicKey(a, raw); err == nil {
				o := &signOptions{message: raw}
				_ = verifyWith(a, pk, o, make([]byte, a.scheme.SignatureSize()))
			}
		}
	})
}

// fuzzRequest posts a raw body and checks the answer is a well-formed
// success or client error: never a 500, never a panic.
func fuzzRequest(t *testing.T, h http.Handler, path string, body []byte) {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	switch rec.Code {
	case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
	default:
		t.Fatalf("%s %q: status %d: %s", path, body, rec.Code, rec.Body)
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s: answer is not JSON: %q", path, rec.Body)
	}
}

func FuzzKEMRequests(f *testing.F) {
	s := sharedFuzzServer(f)
	h := s.Handler()
	var kg kemKeygenResponse
	post(f, h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768"}, &kg)
	var enc kemEncapsulateResponse
	post(f, h, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: "ML-KEM-768", PublicKey: kg.PublicKey}, &enc)
	seeds := []any{
		kemKeygenRequest{Algorithm: "ML-KEM-512", Seed: encode64(make([]byte, 64)), Format: formatDER},
		kemKeygenRequest{Algorithm: "X-Wing"},
		kemEncapsulateRequest{Algorithm: "ML-KEM-768", PublicKey: kg.PublicKey},
		kemEncapsulateRequest{Algorithm: "Kyber768", PublicKey: kg.PublicKey},
		kemDecapsulateRequest{Algorithm: "ML-KEM-768", PrivateKey: kg.PrivateKey, Ciphertext: enc.Ciphertext},
		kemDecapsulateRequest{Algorithm: "ML-KEM-768", PrivateKey: kg.Seed, Ciphertext: enc.Ciphertext, Format: formatPKCS8},
		kemDecapsulateRequest{Algorithm: "X-Wing", PrivateKey: encode64(make([]byte, 32)), Ciphertext: encode64(make([]byte, 1120))},
	}
	for i, sd := range seeds {
		b, _ := json.Marshal(sd)
		f.Add(uint8(i), b)
	}
	f.Add(uint8(0), []byte(`{"algorithm":`))
	f.Add(uint8(1), []byte(`[]`))
	paths := []string{"/pqc/ml-kem/keygen", "/pqc/x-wing/keygen", "/pqc/ml-kem/encapsulate", "/pqc/ml-kem/encapsulate", "/pqc/ml-kem/decapsulate", "/pqc/ml-kem/decapsulate", "/pqc/x-wing/decapsulate", "/pqc/x-wing/encapsulate"}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		fuzzRequest(t, h, paths[int(which)%len(paths)], body)
	})
}

func FuzzSignatureRequests(f *testing.F) {
	s := sharedFuzzServer(f)
	h := s.Handler()
	var dsa sigKeygenResponse
	post(f, h, "/pqc/ml-dsa/keygen", sigKeygenRequest{Algorithm: "ML-DSA-44"}, &dsa)
	var slh sigKeygenResponse
	post(f, h, "/pqc/slh-dsa/keygen", sigKeygenRequest{Algorithm: "SLH-DSA-SHA2-128f"}, &slh)
	det := true
	seeds := []any{
		sigKeygenRequest{Algorithm: "ML-DSA-65", Seed: encode64(make([]byte, 32)), Format: formatDER},
		sigSignRequest{Algorithm: "ML-DSA-44", PrivateKey: dsa.PrivateKey, Message: "aGk", Context: "Y3R4"},
		sigVerifyRequest{Algorithm: "ML-DSA-44", PublicKey: dsa.PublicKey, Message: "aGk", Signature: encode64(make([]byte, 2420)), Interface: interfaceInternal},
		sigSignRequest{Algorithm: "SLH-DSA-SHA2-128f", PrivateKey: slh.PrivateKey, Message: "aGk", PreHash: "SHA2-256", Deterministic: &det},
		sigVerifyRequest{Algorithm: "SLH-DSA-SHA2-128f", PublicKey: slh.PublicKey, Signature: "AA", Format: formatSPKI},
		sigSignRequest{Algorithm: "Dilithium2", PrivateKey: dsa.Seed},
	}
	for i, sd := range seeds {
		b, _ := json.Marshal(sd)
		f.Add(uint8(i), b)
	}
	f.Add(uint8(2), []byte(`{"algorithm":"ML-DSA-44","deterministic":"yes"}`))
	paths := []string{"/pqc/ml-dsa/keygen", "/pqc/ml-dsa/sign", "/pqc/ml-dsa/verify", "/pqc/slh-dsa/sign", "/pqc/slh-dsa/verify", "/pqc/ml-dsa/sign"}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		fuzzRequest(t, h, paths[int(which)%len(paths)], body)
	})
}
