package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// roundTripKEM generates a key pair, encapsulates and decapsulates.
func roundTripKEM(t *testing.T, h http.Handler, route, alg, format string) {
	t.Helper()
	var kg kemKeygenResponse
	post(t, h, "/pqc/"+route+"/keygen", kemKeygenRequest{Algorithm: alg, Format: format}, &kg)
	pubFormat, privFormat := "", ""
	if format == formatDER {
		pubFormat, privFormat = formatSPKI, formatPKCS8
	}
	var enc kemEncapsulateResponse
	post(t, h, "/pqc/"+route+"/encapsulate", kemEncapsulateRequest{Algorithm: alg, PublicKey: kg.PublicKey, Format: pubFormat}, &enc)
	var dec kemDecapsulateResponse
	post(t, h, "/pqc/"+route+"/decapsulate", kemDecapsulateRequest{Algorithm: alg, PrivateKey: kg.PrivateKey, Ciphertext: enc.Ciphertext, Format: privFormat}, &dec)
	if dec.SharedSecret != enc.SharedSecret || len(b64d(t, dec.SharedSecret)) != 32 {
		t.Fatalf("%s %s: shared secrets differ", alg, format)
	}
	if kg.Seed != "" { // the seed decapsulates too
		post(t, h, "/pqc/"+route+"/decapsulate", kemDecapsulateRequest{Algorithm: alg, PrivateKey: kg.Seed, Ciphertext: enc.Ciphertext}, &dec)
		if dec.SharedSecret != enc.SharedSecret {
			t.Fatalf("%s: seed form decapsulates differently", alg)
		}
	}
}

// roundTripSig generates a key pair, signs (hedged and deterministic) and verifies.
func roundTripSig(t *testing.T, h http.Handler, route, alg, format string) {
	t.Helper()
	var kg sigKeygenResponse
	post(t, h, "/pqc/"+route+"/keygen", sigKeygenRequest{Algorithm: alg, Format: format}, &kg)
	pubFormat, privFormat := "", ""
	if format == formatDER {
		pubFormat, privFormat = formatSPKI, formatPKCS8
	}
	msg := encode64([]byte("aunsorm round trip"))
	ctx := ""
	if !strings.HasPrefix(alg, "Dilithium") {
		ctx = encode64([]byte("ctx"))
	}
	for _, det := range []bool{false, true} {
		if strings.HasPrefix(alg, "Dilithium") && !det {
			continue
		}
		var sg sigSignResponse
		post(t, h, "/pqc/"+route+"/sign", sigSignRequest{Algorithm: alg, PrivateKey: kg.PrivateKey, Message: msg, Context: ctx, Deterministic: &det, Format: privFormat}, &sg)
		var v sigVerifyResponse
		post(t, h, "/pqc/"+route+"/verify", sigVerifyRequest{Algorithm: alg, PublicKey: kg.PublicKey, Message: msg, Context: ctx, Signature: sg.Signature, Format: pubFormat}, &v)
		if !v.Valid {
			t.Fatalf("%s %s det=%v: signature does not verify", alg, format, det)
		}
		sig := b64d(t, sg.Signature)
		sig[len(sig)/2] ^= 1
		post(t, h, "/pqc/"+route+"/verify", sigVerifyRequest{Algorithm: alg, PublicKey: kg.PublicKey, Message: msg, Context: ctx, Signature: encode64(sig), Format: pubFormat}, &v)
		if v.Valid {
			t.Fatalf("%s: altered signature verifies", alg)
		}
	}
}

func TestRoundTrips(t *testing.T) {
	t.Parallel()
	for _, impl := range []string{implCircl, implGo} {
		s := newTestServer(t, config{Implementation: impl}, nil)
		h := s.Handler()
		for _, a := range s.reg.kems {
			for _, f := range a.formats() {
				t.Run("ok/"+impl+"/"+a.name+"/"+f, func(t *testing.T) { roundTripKEM(t, h, a.route, a.name, f) })
			}
		}
		if impl == implGo {
			continue
		}
		for _, a := range s.reg.sigs {
			if a.slow && a.name != "SLH-DSA-SHA2-128s" {
				continue // one slow set is enough here; the ACVP tests cover the rest
			}
			formats := a.formats()
			if a.isSLH() && a.name != "SLH-DSA-SHA2-128f" {
				formats = []string{formatRaw} // DER is family-independent: one SLH-DSA set covers it
			}
			for _, f := range formats {
				t.Run("ok/"+a.name+"/"+f, func(t *testing.T) { roundTripSig(t, h, a.route, a.name, f) })
			}
		}
	}
}

// formats lists the key formats of a parameter set.
func (a *algorithm) formats() []string {
	if a.oid == nil {
		return []string{formatRaw}
	}
	return []string{formatRaw, formatDER}
}

// TestRandomnessComesFromDRBG checks that each operation reads exactly the
// randomness it needs from the server's source, and seeded or deterministic
// ones read none.
func TestRandomnessComesFromDRBG(t *testing.T) {
	rnd := &scriptedReader{}
	s := newTestServer(t, config{}, rnd)
	srv := &acvpServer{h: s.Handler(), rnd: rnd}
	zeros := func(n int) []byte { return make([]byte, n) }
	var kg kemKeygenResponse
	srv.post(t, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768"}, &kg, zeros(64))
	srv.post(t, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: "ML-KEM-768", PublicKey: kg.PublicKey}, nil, zeros(32))
	srv.post(t, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768", Seed: encode64(zeros(64))}, nil)
	var xw kemKeygenResponse
	srv.post(t, "/pqc/x-wing/keygen", kemKeygenRequest{}, &xw, zeros(32))
	srv.post(t, "/pqc/x-wing/encapsulate", kemEncapsulateRequest{PublicKey: xw.PublicKey}, nil, zeros(64))
	var dk sigKeygenResponse
	srv.post(t, "/pqc/ml-dsa/keygen", sigKeygenRequest{Algorithm: "ML-DSA-65"}, &dk, zeros(32))
	det := true
	srv.post(t, "/pqc/ml-dsa/sign", sigSignRequest{Algorithm: "ML-DSA-65", PrivateKey: dk.PrivateKey, Deterministic: &det}, nil)
	srv.post(t, "/pqc/ml-dsa/sign", sigSignRequest{Algorithm: "ML-DSA-65", PrivateKey: dk.PrivateKey}, nil, zeros(32))
	var sk sigKeygenResponse
	srv.post(t, "/pqc/slh-dsa/keygen", sigKeygenRequest{Algorithm: "SLH-DSA-SHA2-192f"}, &sk, zeros(72))
	srv.post(t, "/pqc/slh-dsa/sign", sigSignRequest{Algorithm: "SLH-DSA-SHA2-192f", PrivateKey: sk.PrivateKey}, nil, zeros(24))
	srv.post(t, "/pqc/slh-dsa/sign", sigSignRequest{Algorithm: "SLH-DSA-SHA2-192f", PrivateKey: sk.PrivateKey, Deterministic: &det}, nil)
	// A failing random source is a 500 with nothing of the cause in it.
	rnd.load()
	e := postErr(t, srv.h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768"}, http.StatusInternalServerError)
	if e.Error != "internal_error" || strings.Contains(e.Description, "scripted") {
		t.Fatalf("error %+v", e)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, config{}, nil)
	strict := newTestServer(t, config{Strict: true}, nil).Handler()
	h := s.Handler()
	var kem768 kemKeygenResponse
	post(t, h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768"}, &kem768)
	var der768 kemKeygenResponse
	post(t, h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768", Format: formatDER}, &der768)
	var dsa sigKeygenResponse
	post(t, h, "/pqc/ml-dsa/keygen", sigKeygenRequest{Algorithm: "ML-DSA-65"}, &dsa)
	pub := b64d(t, kem768.PublicKey)
	highCoeff := bytes.Clone(pub)
	highCoeff[0], highCoeff[1] = 0xff, 0xff // first coefficient 4095 ≥ q
	badDK := b64d(t, kem768.PrivateKey)
	badDK[len(badDK)-40] ^= 1 // inside H(ek): fails the FIPS 203 §7.3 hash check
	oneByte := encode64([]byte{1})
	tests := []struct {
		name   string
		h      http.Handler
		path   string
		body   any
		status int
		code   string
		want   string // substring of the description
	}{
		{"fail/missing_algorithm", h, "/pqc/ml-kem/keygen", kemKeygenRequest{}, 400, codeInvalidRequest, `"algorithm" is required`},
		{"fail/unknown_algorithm", h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-999"}, 400, codeUnsupportedAlgorithm, "ML-KEM-768"},
		{"fail/wrong_route", h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-DSA-65"}, 400, codeUnsupportedAlgorithm, "/pqc/ml-dsa/"},
		{"fail/sphincs", h, "/pqc/slh-dsa/keygen", sigKeygenRequest{Algorithm: "SPHINCS+-SHA2-128s-simple"}, 400, codeUnsupportedAlgorithm, "SLH-DSA"},
		{"fail/strict_mlkem512", strict, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-512"}, 400, codeUnsupportedAlgorithm, "strict"},
		{"fail/strict_kyber", strict, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "Kyber768"}, 400, codeUnsupportedAlgorithm, "pre-standard"},
		{"fail/strict_dilithium", strict, "/pqc/ml-dsa/keygen", sigKeygenRequest{Algorithm: "Dilithium3"}, 400, codeUnsupportedAlgorithm, "ML-DSA"},
		{"fail/seed_size", h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768", Seed: oneByte}, 400, codeInvalidRequest, `"seed" must be 64 bytes for ML-KEM-768, got 1`},
		{"fail/padding", h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768", Seed: "AA=="}, 400, codeInvalidRequest, `"seed" must be base64url`},
		{"fail/std_alphabet", h, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: "ML-KEM-768", PublicKey: "ab+/"}, 400, codeInvalidRequest, `"public_key"`},
		{"fail/format", h, "/pqc/ml-kem/keygen", kemKeygenRequest{Algorithm: "ML-KEM-768", Format: "pem"}, 400, codeInvalidRequest, `"format"`},
		{"fail/xwing_der", h, "/pqc/x-wing/keygen", kemKeygenRequest{Format: formatDER}, 400, codeInvalidRequest, "no standard OID"},
		{"fail/public_key_size", h, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: "ML-KEM-768", PublicKey: oneByte}, 400, codeInvalidKey, `"public_key" must be 1184 bytes for ML-KEM-768, got 1`},
		{"fail/public_key_modulus", h, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: "ML-KEM-768", PublicKey: encode64(highCoeff)}, 400, codeInvalidKey, "§7.2"},
		{"fail/spki_garbage", h, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: "ML-KEM-768", PublicKey: oneByte, Format: formatSPKI}, 400, codeInvalidKey, "SubjectPublicKeyInfo"},
		{"fail/spki_wrong_oid", h, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: "ML-KEM-1024", PublicKey: der768.PublicKey, Format: formatSPKI}, 400, codeInvalidKey, "2.16.840.1.101.3.4.4.2"},
		{"fail/ciphertext_size", h, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: "ML-KEM-768", PrivateKey: kem768.PrivateKey, Ciphertext: oneByte}, 400, codeInvalidCiphertext, `"ciphertext" must be 1088 bytes for ML-KEM-768, got 1`},
		{"fail/private_key_size", h, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: "ML-KEM-768", PrivateKey: oneByte, Ciphertext: encode64(make([]byte, 1088))}, 400, codeInvalidKey, "2400 bytes (expanded) or 64 bytes (seed)"},
		{"fail/private_key_hash", h, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: "ML-KEM-768", PrivateKey: encode64(badDK), Ciphertext: encode64(make([]byte, 1088))}, 400, codeInvalidKey, "§7.3"},
		{"fail/pkcs8_garbage", h, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: "ML-KEM-768", PrivateKey: oneByte, Ciphertext: encode64(make([]byte, 1088)), Format: formatPKCS8}, 400, codeInvalidKey, "PKCS#8"},
		{"fail/pkcs8_wrong_family", h, "/pqc/ml-kem/decapsulate", kemDecapsulateRequest{Algorithm: "ML-KEM-768", PrivateKey: kem768.PrivateKey, Ciphertext: encode64(make([]byte, 1088)), Format: formatSPKI}, 400, codeInvalidRequest, `"format"`},
		{"fail/missing_public_key", h, "/pqc/ml-kem/encapsulate", kemEncapsulateRequest{Algorithm: "ML-KEM-768"}, 400, codeInvalidRequest, `"public_key" is required`},
		{"fail/context_too_long", h, "/pqc/ml-dsa/sign", sigSignRequest{Algorithm: "ML-DSA-65", PrivateKey: dsa.PrivateKey, Context: encode64(make([]byte, 256))}, 400, codeInvalidRequest, "at most 255 bytes, got 256"},
		{"fail/internal_with_context", h, "/pqc/ml-dsa/sign", sigSignRequest{Algorithm: "ML-DSA-65", PrivateKey: dsa.PrivateKey, Context: oneByte, Interface: interfaceInternal}, 400, codeInvalidRequest, `"context"`},
		{"fail/interface", h, "/pqc/ml-dsa/sign", sigSignRequest{Algorithm: "ML-DSA-65", PrivateKey: dsa.PrivateKey, Interface: "external"}, 400, codeInvalidRequest, `"interface"`},
		{"fail/prehash_mldsa", h, "/pqc/ml-dsa/sign", sigSignRequest{Algorithm: "ML-DSA-65", PrivateKey: dsa.PrivateKey, PreHash: "SHA2-256"}, 400, codeInvalidRequest, "HashML-DSA"},
		{"fail/prehash_unknown", h, "/pqc/slh-dsa/verify", sigVerifyRequest{Algorithm: "SLH-DSA-SHA2-128f", PublicKey: encode64(make([]byte, 32)), Signature: oneByte, PreHash: "MD5"}, 400, codeInvalidRequest, `"pre_hash"`},
		{"fail/dilithium_hedged", h, "/pqc/ml-dsa/sign", sigSignRequest{Algorithm: "Dilithium2", PrivateKey: encode64(make([]byte, 32)), Deterministic: new(bool)}, 400, codeInvalidRequest, "deterministic only"},
		{"fail/sig_private_key_size", h, "/pqc/ml-dsa/sign", sigSignRequest{Algorithm: "ML-DSA-65", PrivateKey: oneByte}, 400, codeInvalidKey, "4032 bytes (expanded) or 32 bytes (seed)"},
		{"fail/sig_public_key_size", h, "/pqc/ml-dsa/verify", sigVerifyRequest{Algorithm: "ML-DSA-65", PublicKey: oneByte, Signature: oneByte}, 400, codeInvalidKey, `"public_key" must be 1952 bytes for ML-DSA-65, got 1`},
		{"fail/slh_private_key_size", h, "/pqc/slh-dsa/sign", sigSignRequest{Algorithm: "SLH-DSA-SHAKE-256f", PrivateKey: oneByte}, 400, codeInvalidKey, `"private_key" must be 128 bytes`},
		{"fail/unknown_field", h, "/pqc/ml-kem/keygen", map[string]string{"algorithm": "ML-KEM-768", "sead": "x"}, 400, codeInvalidRequest, "unknown field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := postErr(t, tc.h, tc.path, tc.body, tc.status)
			if e.Error != tc.code || !strings.Contains(e.Description, tc.want) {
				t.Fatalf("got %s %q, want %s containing %q", e.Error, e.Description, tc.code, tc.want)
			}
		})
	}
}

func TestVerifyFailuresAreNotErrors(t *testing.T) {
	s := newTestServer(t, config{}, nil)
	h := s.Handler()
	var kg sigKeygenResponse
	post(t, h, "/pqc/ml-dsa/keygen", sigKeygenRequest{Algorithm: "ML-DSA-44"}, &kg)
	var v sigVerifyResponse
	post(t, h, "/pqc/ml-dsa/verify", sigVerifyRequest{Algorithm: "ML-DSA-44", PublicKey: kg.PublicKey, Signature: encode64(make([]byte, 2420))}, &v)
	if v.Valid || v.Reason != "" {
		t.Fatalf("zero signature: %+v", v)
	}
	post(t, h, "/pqc/ml-dsa/verify", sigVerifyRequest{Algorithm: "ML-DSA-44", PublicKey: kg.PublicKey, Signature: encode64(make([]byte, 2421))}, &v)
	if v.Valid || v.Reason != "signature must be 2420 bytes, got 2421" {
		t.Fatalf("long signature: %+v", v)
	}
}

func TestRouting(t *testing.T) {
	h := newTestServer(t, config{}, nil).Handler()
	tests := []struct {
		name, method, path, ctype string
		status                    int
		code, allow               string
	}{
		{"ok/capabilities", http.MethodGet, "/pqc/capabilities", "", 200, "", ""},
		{"ok/capabilities-head", http.MethodHead, "/pqc/capabilities", "", 200, "", ""},
		{"fail/method", http.MethodGet, "/pqc/ml-kem/keygen", "", 405, "method_not_allowed", "POST"},
		{"fail/method-capabilities", http.MethodPost, "/pqc/capabilities", "", 405, "method_not_allowed", "GET, HEAD"},
		{"fail/not_found", http.MethodPost, "/pqc/ml-kem/sign", "application/json", 404, "not_found", ""},
		{"fail/media_type", http.MethodPost, "/pqc/ml-kem/keygen", "text/plain", 415, "unsupported_media_type", ""},
		{"fail/empty_body", http.MethodPost, "/pqc/ml-kem/keygen", "application/json", 400, codeInvalidRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(""))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.code) {
				t.Fatalf("status %d body %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	h := newTestServer(t, config{MaxBodyBytes: 2048}, nil).Handler()
	e := postErr(t, h, "/pqc/ml-dsa/verify", sigVerifyRequest{Algorithm: "ML-DSA-65", Message: encode64(make([]byte, 4096))}, http.StatusRequestEntityTooLarge)
	if e.Error != "request_too_large" {
		t.Fatalf("%+v", e)
	}
}
