package main

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/cloudflare/circl/kem"
)

// kemKeygenRequest is the body of POST /pqc/{ml-kem,x-wing}/keygen.
type kemKeygenRequest struct {
	Algorithm string `json:"algorithm"`
	// Seed, when set, makes key generation deterministic: 64 bytes d‖z for
	// ML-KEM (FIPS 203 ML-KEM.KeyGen_internal) and Kyber, 32 for X-Wing.
	Seed   string `json:"seed,omitempty" api:"base64url"`
	Format string `json:"format,omitempty"`
}

// kemKeygenResponse is the answer to a KEM keygen.
type kemKeygenResponse struct {
	Algorithm      string `json:"algorithm"`
	Implementation string `json:"implementation"`
	Format         string `json:"format"`
	PublicKey      string `json:"public_key" api:"base64url"`
	// PrivateKey is the expanded FIPS 203 decapsulation key (raw) or the
	// PKCS#8 seed form (der); for X-Wing it is the 32-byte seed.
	PrivateKey string `json:"private_key" api:"base64url"`
	// Seed is the seed the key pair was derived from (raw format, ML-KEM and Kyber).
	Seed string `json:"seed,omitempty" api:"base64url"`
}

// kemEncapsulateRequest is the body of POST /pqc/{ml-kem,x-wing}/encapsulate.
type kemEncapsulateRequest struct {
	Algorithm string `json:"algorithm"`
	PublicKey string `json:"public_key" api:"base64url"`
	Format    string `json:"format,omitempty"`
}

// kemEncapsulateResponse is the answer to an encapsulation.
type kemEncapsulateResponse struct {
	Algorithm      string `json:"algorithm"`
	Implementation string `json:"implementation"`
	Ciphertext     string `json:"ciphertext" api:"base64url"`
	SharedSecret   string `json:"shared_secret" api:"base64url"`
}

// kemDecapsulateRequest is the body of POST /pqc/{ml-kem,x-wing}/decapsulate.
type kemDecapsulateRequest struct {
	Algorithm string `json:"algorithm"`
	// PrivateKey is, in raw format, the expanded decapsulation key or the
	// seed (told apart by length); in pkcs8 format a OneAsymmetricKey.
	PrivateKey string `json:"private_key" api:"base64url"`
	Ciphertext string `json:"ciphertext" api:"base64url"`
	Format     string `json:"format,omitempty"`
}

// kemDecapsulateResponse is the answer to a decapsulation.
type kemDecapsulateResponse struct {
	Algorithm      string `json:"algorithm"`
	Implementation string `json:"implementation"`
	SharedSecret   string `json:"shared_secret" api:"base64url"`
}

// kemKeygen serves POST /pqc/<route>/keygen.
func (s *server) kemKeygen(route string) func(*http.Request, *kemKeygenRequest) (*kemKeygenResponse, error) {
	return func(r *http.Request, req *kemKeygenRequest) (*kemKeygenResponse, error) {
		a, err := s.kemFor(route, req.Algorithm)
		if err != nil {
			return nil, err
		}
		format, err := checkFormat(req.Format, &a.algorithm, formatRaw, formatDER)
		if err != nil {
			return nil, err
		}
		seed, err := s.keySeed(req.Seed, a.scheme.SeedSize(), a.name)
		if err != nil {
			return nil, err
		}
		defer wipe(seed)
		pk, sk := a.scheme.DeriveKeyPair(seed)
		pub, err := pk.MarshalBinary()
		if err != nil {
			return nil, err
		}
		priv, err := sk.MarshalBinary()
		if err != nil {
			return nil, err
		}
		defer wipe(priv)
		impl := implCircl
		if b := s.backendFor(a); b != nil && b.name() != implCircl {
			// Another backend derives the public key too, and must agree;
			// circl provides the expanded FIPS 203 encoding, which
			// crypto/mlkem does not expose.
			ek, err := b.encapsulationKey(a.mlkemBits, seed)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(ek, pub) {
				return nil, errSelfTest // the implementations disagree: never answer
			}
			impl = b.name()
		}
		resp := kemKeygenResponse{Algorithm: a.name, Implementation: impl, Format: format}
		switch {
		case format == formatDER:
			resp.PublicKey = encode64(marshalSPKI(a.oid, pub))
			resp.PrivateKey = encode64(marshalPKCS8(a.oid, marshalSeedChoice(seed)))
		default:
			resp.PublicKey = encode64(pub)
			resp.PrivateKey = encode64(priv)
			if a.scheme.SeedSize() != a.scheme.PrivateKeySize() {
				resp.Seed = encode64(seed)
			}
		}
		return &resp, nil
	}
}

// keySeed decodes a caller-supplied seed of the given size, or draws one from
// the platform DRBG when none is given.
func (s *server) keySeed(field64 string, size int, alg string) ([]byte, error) {
	if field64 == "" {
		return readRandom(s.rand, size)
	}
	seed, err := decode64("seed", field64)
	if err != nil {
		return nil, err
	}
	if len(seed) != size {
		return nil, sizeError(codeInvalidRequest, "seed", alg, size, len(seed))
	}
	return seed, nil
}

// kemEncapsulate serves POST /pqc/<route>/encapsulate.
func (s *server) kemEncapsulate(route string) func(*http.Request, *kemEncapsulateRequest) (*kemEncapsulateResponse, error) {
	return func(r *http.Request, req *kemEncapsulateRequest) (*kemEncapsulateResponse, error) {
		a, err := s.kemFor(route, req.Algorithm)
		if err != nil {
			return nil, err
		}
		format, err := checkFormat(req.Format, &a.algorithm, formatRaw, formatSPKI)
		if err != nil {
			return nil, err
		}
		pub, err := decodeRequired("public_key", req.PublicKey)
		if err != nil {
			return nil, err
		}
		if format == formatSPKI {
			if pub, err = publicFromSPKI(&a.algorithm, pub); err != nil {
				return nil, err
			}
		}
		if len(pub) != a.scheme.PublicKeySize() {
			return nil, sizeError(codeInvalidKey, "public_key", a.name, a.scheme.PublicKeySize(), len(pub))
		}
		m, err := readRandom(s.rand, a.scheme.EncapsulationSeedSize())
		if err != nil {
			return nil, err
		}
		defer wipe(m)
		var ct, ss []byte
		impl := implCircl
		if b := s.backendFor(a); b != nil {
			impl = b.name()
			ct, ss, err = b.encapsulate(a.mlkemBits, pub, m)
		} else {
			var pk kem.PublicKey
			if pk, err = a.scheme.UnmarshalBinaryPublicKey(pub); err != nil {
				return nil, apiInvalidKey("field \"public_key\" is not a valid %s public key", a.name)
			}
			ct, ss, err = a.scheme.EncapsulateDeterministically(pk, m)
		}
		if errors.Is(err, errInvalidKey) {
			return nil, apiInvalidKey("field \"public_key\" is not a valid %s encapsulation key (FIPS 203 §7.2 check failed)", a.name)
		}
		if err != nil {
			return nil, err
		}
		defer wipe(ss)
		return &kemEncapsulateResponse{
			Algorithm: a.name, Implementation: impl, Ciphertext: encode64(ct), SharedSecret: encode64(ss),
		}, nil
	}
}

// kemDecapsulate serves POST /pqc/<route>/decapsulate.
func (s *server) kemDecapsulate(route string) func(*http.Request, *kemDecapsulateRequest) (*kemDecapsulateResponse, error) {
	return func(r *http.Request, req *kemDecapsulateRequest) (*kemDecapsulateResponse, error) {
		a, err := s.kemFor(route, req.Algorithm)
		if err != nil {
			return nil, err
		}
		format, err := checkFormat(req.Format, &a.algorithm, formatRaw, formatPKCS8)
		if err != nil {
			return nil, err
		}
		raw, err := decodeRequired("private_key", req.PrivateKey)
		if err != nil {
			return nil, err
		}
		defer wipe(raw)
		ct, err := decodeRequired("ciphertext", req.Ciphertext)
		if err != nil {
			return nil, err
		}
		if len(ct) != a.scheme.CiphertextSize() {
			return nil, sizeError(codeInvalidCiphertext, "ciphertext", a.name, a.scheme.CiphertextSize(), len(ct))
		}
		seed, expanded, err := s.kemPrivateKey(a, format, raw)
		if err != nil {
			return nil, err
		}
		var ss []byte
		impl := implCircl
		switch b := s.backendFor(a); {
		case seed != nil && b != nil:
			impl = b.name()
			ss, err = b.decapsulate(a.mlkemBits, seed, ct)
		case seed != nil:
			_, sk := a.scheme.DeriveKeyPair(seed)
			ss, err = a.scheme.Decapsulate(sk, ct)
		default:
			var sk kem.PrivateKey
			if sk, err = a.scheme.UnmarshalBinaryPrivateKey(expanded); err != nil {
				return nil, apiInvalidKey("field \"private_key\" is not a valid %s decapsulation key (FIPS 203 §7.3 hash check failed)", a.name)
			}
			ss, err = a.scheme.Decapsulate(sk, ct)
		}
		switch {
		case errors.Is(err, errInvalidKey):
			return nil, apiInvalidKey("field \"private_key\" is not a valid %s decapsulation key", a.name)
		case errors.Is(err, errInvalidCiphertext):
			return nil, apiInvalidCiphertext("field \"ciphertext\" is not a valid %s ciphertext", a.name)
		case err != nil:
			return nil, err
		}
		defer wipe(ss)
		return &kemDecapsulateResponse{Algorithm: a.name, Implementation: impl, SharedSecret: encode64(ss)}, nil
	}
}

// kemPrivateKey turns a private key field into its seed or expanded form
// (exactly one is non-nil). For X-Wing the 32-byte key is returned as
// expanded: circl parses it directly.
func (s *server) kemPrivateKey(a *kemAlg, format string, raw []byte) (seed, expanded []byte, err error) {
	seedSize, privSize := a.scheme.SeedSize(), a.scheme.PrivateKeySize()
	if format == formatPKCS8 {
		k, err := parsePKCS8(raw)
		if err != nil {
			return nil, nil, apiInvalidKey("field \"private_key\" is not a PKCS#8 OneAsymmetricKey")
		}
		if !k.oid.Equal(a.oid) {
			return nil, nil, apiInvalidKey("field \"private_key\" holds a key with OID %s, not %s (%s)", k.oid, a.name, a.oid)
		}
		seed, expanded, err = parseKeyChoice(k.privateKey)
		if err != nil {
			return nil, nil, apiInvalidKey("field \"private_key\": the PKCS#8 privateKey is not an %s private key CHOICE", a.name)
		}
		if seed != nil && len(seed) != seedSize {
			return nil, nil, sizeError(codeInvalidKey, "private_key (seed)", a.name, seedSize, len(seed))
		}
		if expanded != nil && len(expanded) != privSize {
			return nil, nil, sizeError(codeInvalidKey, "private_key (expandedKey)", a.name, privSize, len(expanded))
		}
		if seed != nil && expanded != nil {
			_, sk := a.scheme.DeriveKeyPair(seed)
			derived, err := sk.MarshalBinary()
			if err != nil {
				return nil, nil, err
			}
			defer wipe(derived)
			if subtle.ConstantTimeCompare(derived, expanded) != 1 {
				return nil, nil, apiInvalidKey("field \"private_key\": the seed and expandedKey of the PKCS#8 key do not match")
			}
			expanded = nil
		}
		if k.publicKey != nil {
			if err := s.checkKEMPublic(a, seed, expanded, k.publicKey); err != nil {
				return nil, nil, err
			}
		}
		return seed, expanded, nil
	}
	switch len(raw) {
	case privSize:
		return nil, raw, nil
	case seedSize:
		return raw, nil, nil
	}
	return nil, nil, apiInvalidKey("field \"private_key\" must be %d bytes (expanded) or %d bytes (seed) for %s, got %d", privSize, seedSize, a.name, len(raw))
}

// checkKEMPublic checks the public key embedded in a PKCS#8 v1 key.
func (s *server) checkKEMPublic(a *kemAlg, seed, expanded, pub []byte) error {
	var sk kem.PrivateKey
	if seed != nil {
		_, sk = a.scheme.DeriveKeyPair(seed)
	} else {
		var err error
		if sk, err = a.scheme.UnmarshalBinaryPrivateKey(expanded); err != nil {
			return apiInvalidKey("field \"private_key\" is not a valid %s decapsulation key", a.name)
		}
	}
	want, err := sk.Public().MarshalBinary()
	if err != nil {
		return err
	}
	if !bytes.Equal(want, pub) {
		return apiInvalidKey("field \"private_key\": the PKCS#8 publicKey does not match the private key")
	}
	return nil
}

// publicFromSPKI extracts a raw public key from a SubjectPublicKeyInfo,
// checking its OID against the requested parameter set.
func publicFromSPKI(a *algorithm, der []byte) ([]byte, error) {
	oid, pub, err := parseSPKI(der)
	if err != nil {
		return nil, apiInvalidKey("field \"public_key\" is not a DER SubjectPublicKeyInfo")
	}
	if !oid.Equal(a.oid) {
		return nil, apiInvalidKey("field \"public_key\" holds a key with OID %s, not %s (%s)", oid, a.name, a.oid)
	}
	return pub, nil
}
