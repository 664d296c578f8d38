package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/cloudflare/circl/sign"
)

// Signing interfaces selectable with the request field "interface".
const (
	// interfacePure is ML-DSA.Sign / slh_sign (FIPS 204 Alg. 2, FIPS 205
	// Alg. 22): the message is domain-separated with the context string.
	interfacePure = "pure"
	// interfaceInternal is ML-DSA.Sign_internal / slh_sign_internal (FIPS 204
	// Alg. 7, FIPS 205 Alg. 19): the message is M′ as given. For validation
	// (NIST ACVP) and for callers that format M′ themselves.
	interfaceInternal = "internal"
)

// maxContext is the largest context string FIPS 204/205 allow.
const maxContext = 255

// sigKeygenRequest is the body of POST /pqc/{ml-dsa,slh-dsa}/keygen.
type sigKeygenRequest struct {
	Algorithm string `json:"algorithm"`
	// Seed, when set, makes key generation deterministic: 32 bytes ξ for
	// ML-DSA (FIPS 204 ML-DSA.KeyGen_internal) and Dilithium;
	// SK.seed‖SK.prf‖PK.seed (3n bytes) for SLH-DSA (FIPS 205 slh_keygen_internal).
	Seed   string `json:"seed,omitempty" api:"base64url"`
	Format string `json:"format,omitempty"`
}

// sigKeygenResponse is the answer to a signature keygen.
type sigKeygenResponse struct {
	Algorithm  string `json:"algorithm"`
	Format     string `json:"format"`
	PublicKey  string `json:"public_key" api:"base64url"`
	PrivateKey string `json:"private_key" api:"base64url"`
	// Seed is ξ for ML-DSA and Dilithium in raw format (an SLH-DSA private
	// key already holds its seeds).
	Seed string `json:"seed,omitempty" api:"base64url"`
}

// sigSignRequest is the body of POST /pqc/{ml-dsa,slh-dsa}/sign.
type sigSignRequest struct {
	Algorithm string `json:"algorithm"`
	// PrivateKey is, in raw format, the FIPS encoding of the private key or
	// (ML-DSA, Dilithium) the 32-byte seed; in pkcs8 format a OneAsymmetricKey.
	PrivateKey string `json:"private_key" api:"base64url"`
	Message    string `json:"message" api:"base64url"`
	Context    string `json:"context,omitempty" api:"base64url"`
	// Deterministic selects deterministic signing; hedged (randomised with
	// bytes from the platform DRBG) when absent or false.
	Deterministic *bool  `json:"deterministic,omitempty"`
	Interface     string `json:"interface,omitempty"`
	// PreHash selects HashSLH-DSA (FIPS 205 §10.2.2) with the named hash.
	PreHash string `json:"pre_hash,omitempty"`
	Format  string `json:"format,omitempty"`
}

// sigSignResponse is the answer to a signing request.
type sigSignResponse struct {
	Algorithm     string `json:"algorithm"`
	Signature     string `json:"signature" api:"base64url"`
	Deterministic bool   `json:"deterministic"`
}

// sigVerifyRequest is the body of POST /pqc/{ml-dsa,slh-dsa}/verify.
type sigVerifyRequest struct {
	Algorithm string `json:"algorithm"`
	PublicKey string `json:"public_key" api:"base64url"`
	Message   string `json:"message" api:"base64url"`
	Signature string `json:"signature" api:"base64url"`
	Context   string `json:"context,omitempty" api:"base64url"`
	Interface string `json:"interface,omitempty"`
	PreHash   string `json:"pre_hash,omitempty"`
	Format    string `json:"format,omitempty"`
}

// sigVerifyResponse is the answer to a verification: a signature that does
// not verify is {"valid": false}, not an error.
type sigVerifyResponse struct {
	Algorithm string `json:"algorithm"`
	Valid     bool   `json:"valid"`
	// Reason says why a signature was rejected before any arithmetic.
	Reason string `json:"reason,omitempty"`
}

// signOptions are the decoded, validated message options of a sign or verify.
type signOptions struct {
	message  []byte
	context  []byte
	internal bool
	preHash  string
}

// sigKeygen serves POST /pqc/<route>/keygen.
func (s *server) sigKeygen(route string) func(*http.Request, *sigKeygenRequest) (*sigKeygenResponse, error) {
	return func(r *http.Request, req *sigKeygenRequest) (*sigKeygenResponse, error) {
		a, err := s.sigFor(route, req.Algorithm)
		if err != nil {
			return nil, err
		}
		format, err := checkFormat(req.Format, &a.algorithm, formatRaw, formatDER)
		if err != nil {
			return nil, err
		}
		seed, err := s.keySeed(req.Seed, sigSeedSize(a), a.name)
		if err != nil {
			return nil, err
		}
		defer wipe(seed)
		var pub, priv []byte
		err = s.runSig(r.Context(), a, func() error {
			var err error
			pub, priv, err = sigDeriveKey(a, seed)
			return err
		})
		if err != nil {
			return nil, err
		}
		defer wipe(priv)
		resp := sigKeygenResponse{Algorithm: a.name, Format: format}
		switch {
		case format == formatDER && a.isSLH():
			resp.PublicKey = encode64(marshalSPKI(a.oid, pub))
			resp.PrivateKey = encode64(marshalPKCS8(a.oid, priv))
		case format == formatDER:
			resp.PublicKey = encode64(marshalSPKI(a.oid, pub))
			resp.PrivateKey = encode64(marshalPKCS8(a.oid, marshalSeedChoice(seed)))
		default:
			resp.PublicKey = encode64(pub)
			resp.PrivateKey = encode64(priv)
			if !a.isSLH() {
				resp.Seed = encode64(seed)
			}
		}
		return &resp, nil
	}
}

// sigSign serves POST /pqc/<route>/sign.
func (s *server) sigSign(route string) func(*http.Request, *sigSignRequest) (*sigSignResponse, error) {
	return func(r *http.Request, req *sigSignRequest) (*sigSignResponse, error) {
		a, err := s.sigFor(route, req.Algorithm)
		if err != nil {
			return nil, err
		}
		format, err := checkFormat(req.Format, &a.algorithm, formatRaw, formatPKCS8)
		if err != nil {
			return nil, err
		}
		opts, err := signOpts(a, req.Message, req.Context, req.Interface, req.PreHash)
		if err != nil {
			return nil, err
		}
		deterministic := req.Deterministic != nil && *req.Deterministic
		if a.family == familyDilithium {
			if req.Deterministic != nil && !*req.Deterministic {
				return nil, apiInvalidRequest("field \"deterministic\": %s signing is deterministic only", a.name)
			}
			deterministic = true
		}
		raw, err := decodeRequired("private_key", req.PrivateKey)
		if err != nil {
			return nil, err
		}
		defer wipe(raw)
		key, err := sigPrivateKey(a, format, raw)
		if err != nil {
			return nil, err
		}
		var sig []byte
		err = s.runSig(r.Context(), a, func() error {
			var err error
			sig, err = s.signWith(a, key, opts, deterministic)
			return err
		})
		if err != nil {
			return nil, err
		}
		return &sigSignResponse{Algorithm: a.name, Signature: encode64(sig), Deterministic: deterministic}, nil
	}
}

// sigVerify serves POST /pqc/<route>/verify.
func (s *server) sigVerify(route string) func(*http.Request, *sigVerifyRequest) (*sigVerifyResponse, error) {
	return func(r *http.Request, req *sigVerifyRequest) (*sigVerifyResponse, error) {
		a, err := s.sigFor(route, req.Algorithm)
		if err != nil {
			return nil, err
		}
		format, err := checkFormat(req.Format, &a.algorithm, formatRaw, formatSPKI)
		if err != nil {
			return nil, err
		}
		opts, err := signOpts(a, req.Message, req.Context, req.Interface, req.PreHash)
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
		pk, err := sigPublicKey(a, pub)
		if err != nil {
			return nil, err
		}
		sig, err := decodeRequired("signature", req.Signature)
		if err != nil {
			return nil, err
		}
		resp := sigVerifyResponse{Algorithm: a.name}
		// FIPS 204 Alg. 8 and FIPS 205 Alg. 20 return false for a signature
		// of the wrong length: it is a failed verification, not a bad request.
		if want := a.scheme.SignatureSize(); len(sig) != want {
			resp.Reason = fmt.Sprintf("signature must be %d bytes, got %d", want, len(sig))
		} else {
			resp.Valid = verifyWith(a, pk, opts, sig)
		}
		return &resp, nil
	}
}

// runSig runs fn, under the slow-operation limiter for a slow parameter set.
func (s *server) runSig(ctx context.Context, a *sigAlg, fn func() error) error {
	if a.slow {
		return s.slow.do(ctx, fn)
	}
	return fn()
}

// signOpts decodes and validates the message options shared by sign and verify.
func signOpts(a *sigAlg, message, context, iface, preHash string) (*signOptions, error) {
	msg, err := decode64("message", message)
	if err != nil {
		return nil, err
	}
	ctx, err := decode64("context", context)
	if err != nil {
		return nil, err
	}
	if len(ctx) > maxContext {
		return nil, apiInvalidRequest("field \"context\" must be at most %d bytes, got %d", maxContext, len(ctx))
	}
	o := &signOptions{message: msg, context: ctx, preHash: preHash}
	switch iface {
	case "", interfacePure:
	case interfaceInternal:
		o.internal = true
	default:
		return nil, apiInvalidRequest("field \"interface\" must be %q or %q, got %q", interfacePure, interfaceInternal, iface)
	}
	if a.family == familyDilithium {
		switch {
		case len(ctx) > 0:
			return nil, apiInvalidRequest("field \"context\": %s has no context strings", a.name)
		case o.internal:
			return nil, apiInvalidRequest("field \"interface\": %s has no internal interface", a.name)
		}
	}
	if o.internal && len(ctx) > 0 {
		return nil, apiInvalidRequest("field \"context\" is not allowed with interface %q (M′ already carries it)", interfaceInternal)
	}
	if preHash != "" {
		switch {
		case !a.isSLH():
			return nil, apiInvalidRequest("field \"pre_hash\": HashML-DSA is not implemented; pre-hashing is available for SLH-DSA only")
		case o.internal:
			return nil, apiInvalidRequest("field \"pre_hash\" is not allowed with interface %q", interfaceInternal)
		}
		if _, err := newPreHash(preHash); err != nil {
			return nil, apiInvalidRequest("field \"pre_hash\" must be one of %q, got %q", preHashNames(), preHash)
		}
	}
	return o, nil
}

// sigSeedSize is the size of the key generation seed of a parameter set.
func sigSeedSize(a *sigAlg) int {
	if a.isSLH() {
		return 3 * a.scheme.PublicKeySize() / 2 // SK.seed‖SK.prf‖PK.seed, n bytes each
	}
	return a.scheme.SeedSize()
}

// sigDeriveKey derives a key pair from a seed and returns its raw encodings.
func sigDeriveKey(a *sigAlg, seed []byte) (pub, priv []byte, err error) {
	if a.isSLH() {
		pk, sk, err := slhGenerate(a, bytes.NewReader(seed))
		if err != nil {
			return nil, nil, err
		}
		if pub, err = pk.MarshalBinary(); err != nil {
			return nil, nil, err
		}
		priv, err = sk.MarshalBinary()
		return pub, priv, err
	}
	pk, sk := a.scheme.DeriveKey(seed)
	if pub, err = pk.MarshalBinary(); err != nil {
		return nil, nil, err
	}
	priv, err = sk.MarshalBinary()
	return pub, priv, err
}

// sigPrivateKey parses a private key field for a parameter set.
func sigPrivateKey(a *sigAlg, format string, raw []byte) (any, error) {
	if format == formatPKCS8 {
		k, err := parsePKCS8(raw)
		if err != nil {
			return nil, apiInvalidKey("field \"private_key\" is not a PKCS#8 OneAsymmetricKey")
		}
		if !k.oid.Equal(a.oid) {
			return nil, apiInvalidKey("field \"private_key\" holds a key with OID %s, not %s (%s)", k.oid, a.name, a.oid)
		}
		key, err := pkcs8SigKey(a, k.privateKey)
		if err != nil {
			return nil, err
		}
		if k.publicKey != nil && !bytes.Equal(publicOf(a, key), k.publicKey) {
			return nil, apiInvalidKey("field \"private_key\": the PKCS#8 publicKey does not match the private key")
		}
		return key, nil
	}
	if a.isSLH() {
		return slhPrivate(a, raw)
	}
	switch len(raw) {
	case a.scheme.PrivateKeySize():
		sk, err := a.scheme.UnmarshalBinaryPrivateKey(raw)
		if err != nil {
			return nil, apiInvalidKey("field \"private_key\" is not a valid %s private key", a.name)
		}
		return sk, nil
	case a.scheme.SeedSize():
		_, sk := a.scheme.DeriveKey(raw)
		return sk, nil
	}
	return nil, apiInvalidKey("field \"private_key\" must be %d bytes (expanded) or %d bytes (seed) for %s, got %d",
		a.scheme.PrivateKeySize(), a.scheme.SeedSize(), a.name, len(raw))
}

// pkcs8SigKey decodes the privateKey content of a PKCS#8 signature key.
func pkcs8SigKey(a *sigAlg, content []byte) (any, error) {
	if a.isSLH() {
		return slhPrivate(a, content)
	}
	seed, expanded, err := parseKeyChoice(content)
	if err != nil {
		return nil, apiInvalidKey("field \"private_key\": the PKCS#8 privateKey is not an %s private key CHOICE", a.name)
	}
	if seed != nil && len(seed) != a.scheme.SeedSize() {
		return nil, sizeError(codeInvalidKey, "private_key (seed)", a.name, a.scheme.SeedSize(), len(seed))
	}
	if expanded != nil && len(expanded) != a.scheme.PrivateKeySize() {
		return nil, sizeError(codeInvalidKey, "private_key (expandedKey)", a.name, a.scheme.PrivateKeySize(), len(expanded))
	}
	var fromExpanded sign.PrivateKey
	if expanded != nil {
		if fromExpanded, err = a.scheme.UnmarshalBinaryPrivateKey(expanded); err != nil {
			return nil, apiInvalidKey("field \"private_key\" is not a valid %s private key", a.name)
		}
		if seed == nil {
			return fromExpanded, nil
		}
	}
	_, sk := a.scheme.DeriveKey(seed)
	if fromExpanded != nil && !sk.Equal(fromExpanded) {
		return nil, apiInvalidKey("field \"private_key\": the seed and expandedKey of the PKCS#8 key do not match")
	}
	return sk, nil
}

// sigPublicKey parses a raw public key of the right size.
func sigPublicKey(a *sigAlg, raw []byte) (any, error) {
	if a.isSLH() {
		return slhPublic(a, raw)
	}
	pk, err := a.scheme.UnmarshalBinaryPublicKey(raw)
	if err != nil {
		return nil, apiInvalidKey("field \"public_key\" is not a valid %s public key", a.name)
	}
	return pk, nil
}

// publicOf returns the raw public key matching a parsed private key.
func publicOf(a *sigAlg, key any) []byte {
	if a.isSLH() {
		return slhPublicOf(key)
	}
	sk, ok := key.(sign.PrivateKey)
	if !ok {
		return nil
	}
	pk, ok := sk.Public().(sign.PublicKey)
	if !ok {
		return nil
	}
	b, err := pk.MarshalBinary()
	if err != nil {
		return nil
	}
	return b
}

// signWith signs with a parsed private key, drawing hedging randomness from
// the platform DRBG unless deterministic.
func (s *server) signWith(a *sigAlg, key any, o *signOptions, deterministic bool) ([]byte, error) {
	switch {
	case a.isSLH():
		return s.slhSign(a, key, o, deterministic)
	case a.mldsa != nil:
		sk, ok := key.(sign.PrivateKey)
		if !ok {
			return nil, errInvalidKey
		}
		var rnd [32]byte
		if !deterministic {
			b, err := readRandom(s.rand, len(rnd))
			if err != nil {
				return nil, err
			}
			copy(rnd[:], b)
			wipe(b)
		}
		sig, ok := a.mldsa.sign(sk, o.formatted(), rnd)
		clear(rnd[:])
		if !ok {
			return nil, errInvalidKey
		}
		return sig, nil
	default: // Dilithium round 3: deterministic, no context
		sk, ok := key.(sign.PrivateKey)
		if !ok {
			return nil, errInvalidKey
		}
		return a.scheme.Sign(sk, o.message, nil), nil
	}
}

// verifyWith verifies a signature of the right length.
func verifyWith(a *sigAlg, key any, o *signOptions, sig []byte) bool {
	switch {
	case a.isSLH():
		return slhVerify(a, key, o, sig)
	case a.mldsa != nil:
		pk, ok := key.(sign.PublicKey)
		return ok && a.mldsa.verify(pk, o.formatted(), sig)
	default:
		pk, ok := key.(sign.PublicKey)
		return ok && a.scheme.Verify(pk, o.message, sig, nil)
	}
}

// formatted returns a writer of M′, the message the FIPS 204 internal
// functions hash: for the pure interface 0x00 ‖ len(ctx) ‖ ctx ‖ M (FIPS 204
// Alg. 2), for the internal interface the message as given.
func (o *signOptions) formatted() func(io.Writer) {
	return func(w io.Writer) {
		if !o.internal {
			_, _ = w.Write([]byte{0, byte(len(o.context))})
			_, _ = w.Write(o.context)
		}
		_, _ = w.Write(o.message)
	}
}
