package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
)

// keyKind is the family of a signature key.
type keyKind int

const (
	kindEd25519 keyKind = iota + 1
	kindECDSA
	kindRSA
)

// signAlgorithm describes one signature scheme the API offers.
type signAlgorithm struct {
	name  string
	kind  keyKind
	curve elliptic.Curve // ECDSA only
	hash  crypto.Hash    // ECDSA and RSA-PSS: the message digest
	bits  int            // RSA only: the exact modulus size
}

// signAlgorithms lists the signature schemes: Ed25519 (RFC 8032, the default
// to pick), ECDSA over P-256 with SHA-256 and over P-384 with SHA-384 (FIPS
// 186-5, ASN.1 DER signatures, deterministic nonces per RFC 6979) and
// RSASSA-PSS (RFC 8017) with SHA-256, MGF1-SHA-256 and a 32-byte salt.
func signAlgorithms() []signAlgorithm {
	return []signAlgorithm{
		{name: "Ed25519", kind: kindEd25519},
		{name: "ECDSA-P256", kind: kindECDSA, curve: elliptic.P256(), hash: crypto.SHA256},
		{name: "ECDSA-P384", kind: kindECDSA, curve: elliptic.P384(), hash: crypto.SHA384},
		{name: "RSA-PSS-2048", kind: kindRSA, hash: crypto.SHA256, bits: 2048},
		{name: "RSA-PSS-3072", kind: kindRSA, hash: crypto.SHA256, bits: 3072},
		{name: "RSA-PSS-4096", kind: kindRSA, hash: crypto.SHA256, bits: 4096},
	}
}

// findSign looks a signature scheme up by its exact name.
func findSign(name string) (signAlgorithm, error) { return lookup(signAlgorithms(), name) }

func (a signAlgorithm) algName() string { return a.name }

// keyDescription names the kind of key the algorithm needs.
func (a signAlgorithm) keyDescription() string {
	switch a.kind {
	case kindEd25519:
		return "an Ed25519 key"
	case kindECDSA:
		return "an ECDSA " + a.curve.Params().Name + " key"
	default:
		return fmt.Sprintf("an RSA %d-bit key", a.bits)
	}
}

// describeKey names the kind of a parsed key (public or private), without
// any of its material.
func describeKey(k any) string {
	switch k := k.(type) {
	case ed25519.PrivateKey, ed25519.PublicKey:
		return "an Ed25519 key"
	case *ecdsa.PrivateKey:
		return "an ECDSA " + k.Curve.Params().Name + " key"
	case *ecdsa.PublicKey:
		return "an ECDSA " + k.Curve.Params().Name + " key"
	case *rsa.PrivateKey:
		return fmt.Sprintf("an RSA %d-bit key", k.N.BitLen())
	case *rsa.PublicKey:
		return fmt.Sprintf("an RSA %d-bit key", k.N.BitLen())
	default:
		return fmt.Sprintf("a key of type %T", k)
	}
}

// matches reports whether a parsed key (public or private) fits the scheme.
func (a signAlgorithm) matches(k any) bool {
	switch k := k.(type) {
	case ed25519.PrivateKey, ed25519.PublicKey:
		return a.kind == kindEd25519
	case *ecdsa.PrivateKey:
		return a.kind == kindECDSA && k.Curve == a.curve
	case *ecdsa.PublicKey:
		return a.kind == kindECDSA && k.Curve == a.curve
	case *rsa.PrivateKey:
		return a.kind == kindRSA && k.N.BitLen() == a.bits
	case *rsa.PublicKey:
		return a.kind == kindRSA && k.N.BitLen() == a.bits
	default:
		return false
	}
}

// digest hashes msg with the scheme's hash (ECDSA and RSA-PSS).
func (a signAlgorithm) digest(msg []byte) []byte {
	h := a.hash.New()
	h.Write(msg)
	return h.Sum(nil)
}

// pssOptions are the RSA-PSS parameters, for signing and verifying alike:
// the salt is as long as the hash, and verification insists on it.
func (a signAlgorithm) pssOptions() *rsa.PSSOptions {
	return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.hash}
}

// generate makes a key pair for the scheme.
//
// Ed25519 seeds and ECDSA scalars are read from r, the platform DRBG, by
// code here that does not depend on any GODEBUG setting. RSA primes come
// from r only while GODEBUG cryptocustomrand=1 is in force: since Go 1.26
// rsa.GenerateKey otherwise ignores any reader but crypto/rand's and uses
// Go's own getrandom-seeded DRBG. main.go sets it with a //go:debug line;
// Go has announced the setting's removal, after which RSA keys fall back to
// Go's DRBG (TestRSAKeygenReader reports which is in force).
func (a signAlgorithm) generate(r io.Reader) (crypto.Signer, error) {
	switch a.kind {
	case kindEd25519:
		seed := make([]byte, ed25519.SeedSize)
		defer wipe(seed)
		if _, err := io.ReadFull(r, seed); err != nil {
			return nil, fmt.Errorf("%w: %w", errRandom, err)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	case kindECDSA:
		return ecdsaKeyFromRand(r, a.curve)
	default:
		k, err := rsa.GenerateKey(r, a.bits)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errPrimitive, err)
		}
		return k, nil
	}
}

// maxRejections bounds rejection sampling loops. A sound source almost
// never needs a second candidate; 64 rejections in a row mean it is broken.
const maxRejections = 64

// ecdsaKeyFromRand draws an ECDSA private scalar from r by rejection
// sampling (FIPS 186-5 appendix A.2.2): a candidate as long as the group
// order is accepted when it lies in [1, n-1]. ecdsa.GenerateKey would ignore
// r since Go 1.26 unless GODEBUG cryptocustomrand=1 is set. The orders of P-256 and P-384 fill whole bytes, so no bit
// masking is needed and the candidate is uniform over its range.
func ecdsaKeyFromRand(r io.Reader, curve elliptic.Curve) (*ecdsa.PrivateKey, error) {
	buf := make([]byte, (curve.Params().N.BitLen()+7)/8)
	defer wipe(buf)
	for range maxRejections {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("%w: %w", errRandom, err)
		}
		// ParseRawPrivateKey rejects zero and values not below the order.
		if k, err := ecdsa.ParseRawPrivateKey(curve, buf); err == nil {
			return k, nil
		}
	}
	return nil, errRandomRejected
}

// signWith signs msg with a key already checked to match the scheme.
func (a signAlgorithm) signWith(r io.Reader, key crypto.Signer, msg []byte) ([]byte, error) {
	var (
		sig []byte
		err error
	)
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, msg)
	case *ecdsa.PrivateKey:
		// A nil reader selects deterministic RFC 6979 nonces: no randomness
		// at all, where a randomized signature would draw from Go's DRBG
		// rather than the platform one (Go 1.26 ignores custom readers).
		sig, err = k.Sign(nil, a.digest(msg), a.hash)
	case *rsa.PrivateKey:
		// The PSS salt is read from r, the platform DRBG.
		sig, err = rsa.SignPSS(r, k, a.hash, a.digest(msg), a.pssOptions())
	default:
		err = fmt.Errorf("unexpected key type %T", key)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errSign, a.name, err)
	}
	return sig, nil
}

// verifyWith checks sig over msg with a key already checked to match.
func (a signAlgorithm) verifyWith(key any, msg, sig []byte) bool {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, a.digest(msg), sig)
	case *rsa.PublicKey:
		return rsa.VerifyPSS(k, a.hash, a.digest(msg), sig, a.pssOptions()) == nil
	default:
		return false
	}
}

// keypairRequest is the body of POST /crypto/keypair.
type keypairRequest struct {
	Algorithm string `json:"algorithm"`
}

// keypairResponse is the answer of POST /crypto/keypair.
type keypairResponse struct {
	Algorithm  string `json:"algorithm"`
	PrivateKey string `json:"private_key" api:"base64url"`
	PublicKey  string `json:"public_key" api:"base64url"`
}

// signRequest is the body of POST /crypto/sign.
type signRequest struct {
	Algorithm  string  `json:"algorithm"`
	PrivateKey *string `json:"private_key" api:"base64url"`
	Message    *string `json:"message" api:"base64url"`
}

// signResponse is the answer of POST /crypto/sign.
type signResponse struct {
	Signature string `json:"signature" api:"base64url"`
}

// verifyRequest is the body of POST /crypto/verify.
type verifyRequest struct {
	Algorithm string  `json:"algorithm"`
	PublicKey *string `json:"public_key" api:"base64url"`
	Message   *string `json:"message" api:"base64url"`
	Signature *string `json:"signature" api:"base64url"`
}

// verifyResponse is the answer of POST /crypto/verify.
type verifyResponse struct {
	Valid bool `json:"valid"`
}

// keypair generates a key pair: PKCS#8 private key, SPKI public key, DER.
func (s *server) keypair(_ *http.Request, req *keypairRequest) (*keypairResponse, error) {
	alg, err := findSign(req.Algorithm)
	if err != nil {
		return nil, err
	}
	key, err := alg.generate(s.rand)
	if err != nil {
		return nil, err
	}
	if k, ok := key.(ed25519.PrivateKey); ok {
		defer wipe(k)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKeyEncoding, err)
	}
	defer wipe(priv)
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKeyEncoding, err)
	}
	return &keypairResponse{Algorithm: alg.name, PrivateKey: encode(priv), PublicKey: encode(pub)}, nil
}

// sign signs a message with a caller's PKCS#8 private key.
func (s *server) sign(_ *http.Request, req *signRequest) (*signResponse, error) {
	alg, err := findSign(req.Algorithm)
	if err != nil {
		return nil, err
	}
	msg, err := decodeField("message", req.Message, true)
	if err != nil {
		return nil, err
	}
	der, err := decodeField("private_key", req.PrivateKey, true)
	if err != nil {
		return nil, err
	}
	defer wipe(der)
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errInvalidKey("private_key", "%s", notPKCS8(der))
	}
	if k, ok := parsed.(ed25519.PrivateKey); ok {
		defer wipe(k)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok || !alg.matches(parsed) {
		return nil, errInvalidKey("private_key", "%s needs %s, got %s", alg.name, alg.keyDescription(), describeKey(parsed))
	}
	sig, err := alg.signWith(s.rand, signer, msg)
	if err != nil {
		return nil, err
	}
	return &signResponse{Signature: encode(sig)}, nil
}

// notPKCS8 explains why a private key was refused, recognising the legacy
// encodings OpenSSL and others still write.
func notPKCS8(der []byte) string {
	if _, err := x509.ParseECPrivateKey(der); err == nil {
		return "a SEC 1 EC private key; send it as PKCS#8 (openssl pkcs8 -topk8 -nocrypt)"
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return "a PKCS#1 RSA private key; send it as PKCS#8 (openssl pkcs8 -topk8 -nocrypt)"
	}
	return "not a PKCS#8 private key this API can use"
}

// verify checks a signature with a caller's SPKI public key. An invalid
// signature is a 200 with valid=false; a malformed key is a 400.
func (s *server) verify(_ *http.Request, req *verifyRequest) (*verifyResponse, error) {
	alg, err := findSign(req.Algorithm)
	if err != nil {
		return nil, err
	}
	der, err := decodeField("public_key", req.PublicKey, true)
	if err != nil {
		return nil, err
	}
	msg, err := decodeField("message", req.Message, true)
	if err != nil {
		return nil, err
	}
	sig, err := decodeField("signature", req.Signature, true)
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errInvalidKey("public_key", "not a SubjectPublicKeyInfo this API can use")
	}
	if !alg.matches(pub) {
		return nil, errInvalidKey("public_key", "%s needs %s, got %s", alg.name, alg.keyDescription(), describeKey(pub))
	}
	return &verifyResponse{Valid: alg.verifyWith(pub, msg, sig)}, nil
}
