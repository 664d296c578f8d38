package main

import (
	"crypto"
	"io"

	_ "crypto/sha256" // hash functions for HashSLH-DSA
	_ "crypto/sha3"
	_ "crypto/sha512"

	"github.com/cloudflare/circl/sign/slhdsa"
	"github.com/cloudflare/circl/xof"
)

// preHashNames lists the hash functions HashSLH-DSA accepts (FIPS 205
// §10.2.2), by their ACVP names.
func preHashNames() []string {
	return []string{
		"SHA2-224", "SHA2-256", "SHA2-384", "SHA2-512", "SHA2-512/224", "SHA2-512/256",
		"SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512", "SHAKE-128", "SHAKE-256",
	}
}

// newPreHash returns a fresh pre-hasher for a name.
func newPreHash(name string) (*slhdsa.PreHash, error) {
	hashes := map[string]crypto.Hash{
		"SHA2-224": crypto.SHA224, "SHA2-256": crypto.SHA256, "SHA2-384": crypto.SHA384,
		"SHA2-512": crypto.SHA512, "SHA2-512/224": crypto.SHA512_224, "SHA2-512/256": crypto.SHA512_256,
		"SHA3-224": crypto.SHA3_224, "SHA3-256": crypto.SHA3_256, "SHA3-384": crypto.SHA3_384, "SHA3-512": crypto.SHA3_512,
	}
	switch name {
	case "SHAKE-128":
		return slhdsa.NewPreHashWithXof(xof.SHAKE128)
	case "SHAKE-256":
		return slhdsa.NewPreHashWithXof(xof.SHAKE256)
	}
	h, ok := hashes[name]
	if !ok {
		return nil, errUnsupported
	}
	return slhdsa.NewPreHashWithHash(h)
}

// slhGenerate runs slh_keygen with SK.seed, SK.prf and PK.seed read from r.
func slhGenerate(a *sigAlg, r io.Reader) (slhdsa.PublicKey, slhdsa.PrivateKey, error) {
	return slhdsa.GenerateKey(r, a.slh)
}

// slhPrivate parses a raw SLH-DSA private key (SK.seed‖SK.prf‖PK.seed‖PK.root).
func slhPrivate(a *sigAlg, raw []byte) (*slhdsa.PrivateKey, error) {
	if want := a.scheme.PrivateKeySize(); len(raw) != want {
		return nil, sizeError(codeInvalidKey, "private_key", a.name, want, len(raw))
	}
	sk := &slhdsa.PrivateKey{ID: a.slh}
	if err := sk.UnmarshalBinary(raw); err != nil {
		return nil, apiInvalidKey("field \"private_key\" is not a valid %s private key", a.name)
	}
	return sk, nil
}

// slhPublic parses a raw SLH-DSA public key (PK.seed‖PK.root).
func slhPublic(a *sigAlg, raw []byte) (*slhdsa.PublicKey, error) {
	pk := &slhdsa.PublicKey{ID: a.slh}
	if err := pk.UnmarshalBinary(raw); err != nil {
		return nil, apiInvalidKey("field \"public_key\" is not a valid %s public key", a.name)
	}
	return pk, nil
}

// slhPublicOf returns the raw public key of a parsed SLH-DSA private key.
func slhPublicOf(key any) []byte {
	sk, ok := key.(*slhdsa.PrivateKey)
	if !ok {
		return nil
	}
	pk := sk.PublicKey()
	b, err := pk.MarshalBinary()
	if err != nil {
		return nil
	}
	return b
}

// slhMessage builds circl's message for the pure or pre-hash interface.
func slhMessage(o *signOptions) (*slhdsa.Message, error) {
	if o.preHash == "" {
		return slhdsa.NewMessage(o.message), nil
	}
	ph, err := newPreHash(o.preHash)
	if err != nil {
		return nil, err
	}
	if _, err := ph.Write(o.message); err != nil {
		return nil, err
	}
	return ph.BuildMessage()
}

// slhSign signs. Deterministic signing uses opt_rand = PK.seed (FIPS 205
// Alg. 19); hedged signing reads n bytes of opt_rand from the platform DRBG.
func (s *server) slhSign(a *sigAlg, key any, o *signOptions, deterministic bool) ([]byte, error) {
	sk, ok := key.(*slhdsa.PrivateKey)
	if !ok {
		return nil, errInvalidKey
	}
	n := a.scheme.PublicKeySize() / 2
	if o.internal {
		var addRand []byte
		if deterministic {
			addRand = slhPublicOf(sk)[:n] // PK.seed
		} else {
			var err error
			if addRand, err = readRandom(s.rand, n); err != nil {
				return nil, err
			}
		}
		return circlSLHSignInternal(sk, o.message, addRand)
	}
	msg, err := slhMessage(o)
	if err != nil {
		return nil, err
	}
	if deterministic {
		return slhdsa.SignDeterministic(sk, msg, o.context)
	}
	addRand, err := readRandom(s.rand, n)
	if err != nil {
		return nil, err
	}
	return slhdsa.SignRandomized(sk, &fixedReader{b: addRand}, msg, o.context)
}

// slhVerify verifies a signature of the right length.
func slhVerify(_ *sigAlg, key any, o *signOptions, sig []byte) bool {
	pk, ok := key.(*slhdsa.PublicKey)
	if !ok {
		return false
	}
	if o.internal {
		return circlSLHVerifyInternal(pk, o.message, sig)
	}
	msg, err := slhMessage(o)
	if err != nil {
		return false
	}
	return slhdsa.Verify(pk, msg, sig, o.context)
}

// fixedReader hands out exactly the bytes it holds, then io.EOF.
type fixedReader struct{ b []byte }

// Read implements io.Reader.
func (f *fixedReader) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}
