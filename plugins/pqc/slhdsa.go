package main

import (
	"bytes"
	"crypto"
	"io"

	_ "crypto/sha256" // hash functions for HashSLH-DSA
	_ "crypto/sha3"
	_ "crypto/sha512"

	"github.com/cloudflare/circl/sign/slhdsa"
	"github.com/cloudflare/circl/xof"
)

// preHashes are the hash functions HashSLH-DSA accepts (FIPS 205
// §10.2.2), by their ACVP names, in the order capabilities lists them: a
// crypto.Hash, or for the SHAKEs an XOF.
var preHashes = []struct {
	name string
	hash crypto.Hash
	xof  xof.ID
}{
	{name: "SHA2-224", hash: crypto.SHA224}, {name: "SHA2-256", hash: crypto.SHA256},
	{name: "SHA2-384", hash: crypto.SHA384}, {name: "SHA2-512", hash: crypto.SHA512},
	{name: "SHA2-512/224", hash: crypto.SHA512_224}, {name: "SHA2-512/256", hash: crypto.SHA512_256},
	{name: "SHA3-224", hash: crypto.SHA3_224}, {name: "SHA3-256", hash: crypto.SHA3_256},
	{name: "SHA3-384", hash: crypto.SHA3_384}, {name: "SHA3-512", hash: crypto.SHA3_512},
	{name: "SHAKE-128", xof: xof.SHAKE128}, {name: "SHAKE-256", xof: xof.SHAKE256},
}

// preHashNames lists the names of preHashes.
func preHashNames() []string {
	names := make([]string, len(preHashes))
	for i, p := range preHashes {
		names[i] = p.name
	}
	return names
}

// newPreHash returns a fresh pre-hasher for a name.
func newPreHash(name string) (*slhdsa.PreHash, error) {
	for _, p := range preHashes {
		switch {
		case p.name != name:
		case p.hash != 0:
			return slhdsa.NewPreHashWithHash(p.hash)
		default:
			return slhdsa.NewPreHashWithXof(p.xof)
		}
	}
	return nil, errUnsupported
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
	return slhdsa.SignRandomized(sk, bytes.NewReader(addRand), msg, o.context)
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
