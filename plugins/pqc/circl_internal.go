package main

// This file reaches four functions circl v1.6.5 implements but does not
// export, through //go:linkname:
//
//   - ML-DSA.Sign_internal / ML-DSA.Verify_internal (FIPS 204 Algorithms 7
//     and 8) for each ML-DSA parameter set, and
//   - slh_sign_internal / slh_verify_internal (FIPS 205 Algorithms 19 and 20).
//
// Why: circl's public ML-DSA API draws the hedging randomness rnd from
// crypto/rand itself (no io.Reader parameter), so without Sign_internal the
// plugin could not honour the platform rule that every random byte comes from
// its DRBG, and it could not replay the NIST ACVP ML-DSA vectors (which are
// all written for the internal interface) through the HTTP API. The same
// holds for the ACVP SLH-DSA "internal" groups.
//
// Risks and guards: linkname ties us to circl's unexported symbols and their
// exact signatures. The circl version is pinned in go.mod; a renamed symbol
// fails the link, and a changed signature or behaviour is caught at start-up
// by the self-tests (selftest.go compares the internal path against circl's
// public API bit for bit and against pinned known answers, and strict mode
// refuses to start when they fail) and in CI by the ACVP tests. Drop this
// file when circl exports these functions or Go ships crypto/mldsa.

import (
	"io"
	_ "unsafe" // for go:linkname

	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"github.com/cloudflare/circl/sign/slhdsa"
)

// The mldsaNN.PrivateKey / PublicKey types are defined in circl as
// `type PrivateKey internal.PrivateKey`, so a pointer to one is a pointer to
// the internal type the linked functions take.

//go:linkname circlMLDSA44Sign github.com/cloudflare/circl/sign/mldsa/mldsa44/internal.SignTo
func circlMLDSA44Sign(sk *mldsa44.PrivateKey, msg func(io.Writer), rnd [32]byte, sig []byte)

//go:linkname circlMLDSA44Verify github.com/cloudflare/circl/sign/mldsa/mldsa44/internal.Verify
func circlMLDSA44Verify(pk *mldsa44.PublicKey, msg func(io.Writer), sig []byte) bool

//go:linkname circlMLDSA65Sign github.com/cloudflare/circl/sign/mldsa/mldsa65/internal.SignTo
func circlMLDSA65Sign(sk *mldsa65.PrivateKey, msg func(io.Writer), rnd [32]byte, sig []byte)

//go:linkname circlMLDSA65Verify github.com/cloudflare/circl/sign/mldsa/mldsa65/internal.Verify
func circlMLDSA65Verify(pk *mldsa65.PublicKey, msg func(io.Writer), sig []byte) bool

//go:linkname circlMLDSA87Sign github.com/cloudflare/circl/sign/mldsa/mldsa87/internal.SignTo
func circlMLDSA87Sign(sk *mldsa87.PrivateKey, msg func(io.Writer), rnd [32]byte, sig []byte)

//go:linkname circlMLDSA87Verify github.com/cloudflare/circl/sign/mldsa/mldsa87/internal.Verify
func circlMLDSA87Verify(pk *mldsa87.PublicKey, msg func(io.Writer), sig []byte) bool

//go:linkname circlSLHSignInternal github.com/cloudflare/circl/sign/slhdsa.slhSignInternal
func circlSLHSignInternal(sk *slhdsa.PrivateKey, msgPrime, addRand []byte) ([]byte, error)

//go:linkname circlSLHVerifyInternal github.com/cloudflare/circl/sign/slhdsa.slhVerifyInternal
func circlSLHVerifyInternal(pk *slhdsa.PublicKey, msgPrime, sig []byte) bool

// mldsaInternal gives typed access to one parameter set's FIPS 204 internal
// functions. msg writes M′ (the formatted message) to the hash.
type mldsaInternal struct {
	sign   func(sk sign.PrivateKey, msg func(io.Writer), rnd [32]byte) ([]byte, bool)
	verify func(pk sign.PublicKey, msg func(io.Writer), sig []byte) bool
}

// mldsaInternalFor builds the typed access for one parameter set from its
// key types, signature size and linked internal functions.
func mldsaInternalFor[SK sign.PrivateKey, PK sign.PublicKey](size int, signTo func(SK, func(io.Writer), [32]byte, []byte), verify func(PK, func(io.Writer), []byte) bool) *mldsaInternal {
	return &mldsaInternal{
		sign: func(sk sign.PrivateKey, msg func(io.Writer), rnd [32]byte) ([]byte, bool) {
			k, ok := sk.(SK)
			if !ok {
				return nil, false
			}
			sig := make([]byte, size)
			signTo(k, msg, rnd, sig)
			return sig, true
		},
		verify: func(pk sign.PublicKey, msg func(io.Writer), sig []byte) bool {
			k, ok := pk.(PK)
			return ok && len(sig) == size && verify(k, msg, sig)
		},
	}
}

func mldsa44Internal() *mldsaInternal {
	return mldsaInternalFor(mldsa44.SignatureSize, circlMLDSA44Sign, circlMLDSA44Verify)
}

func mldsa65Internal() *mldsaInternal {
	return mldsaInternalFor(mldsa65.SignatureSize, circlMLDSA65Sign, circlMLDSA65Verify)
}

func mldsa87Internal() *mldsaInternal {
	return mldsaInternalFor(mldsa87.SignatureSize, circlMLDSA87Sign, circlMLDSA87Verify)
}
