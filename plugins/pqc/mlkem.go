package main

import (
	"crypto/mlkem"
	"crypto/mlkem/mlkemtest"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/cloudflare/circl/kem"
	"github.com/cloudflare/circl/kem/mlkem/mlkem1024"
	"github.com/cloudflare/circl/kem/mlkem/mlkem512"
	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
)

// circlModule is the module path of circl, and circlPinnedVersion the version
// go.mod requires; the latter is reported when the binary carries no module
// information (test binaries). A test keeps it equal to go.mod.
const (
	circlModule        = "github.com/cloudflare/circl"
	circlPinnedVersion = "v1.6.5"
)

// mlkemBackend is one implementation of ML-KEM (FIPS 203). Keys cross it as
// 64-byte d‖z seeds and encoded encapsulation keys; all randomness is passed
// in by the caller, which draws it from the platform DRBG.
type mlkemBackend interface {
	// name is the implementation name reported to clients.
	name() string
	// version is the implementation's version.
	version() string
	// supports reports whether the backend implements ML-KEM-<bits>.
	supports(bits int) bool
	// encapsulationKey derives the encapsulation key from a d‖z seed
	// (ML-KEM.KeyGen_internal).
	encapsulationKey(bits int, seed []byte) ([]byte, error)
	// encapsulate runs ML-KEM.Encaps_internal with the 32-byte randomness m,
	// after the FIPS 203 §7.2 encapsulation-key check.
	encapsulate(bits int, ek, m []byte) (ct, ss []byte, err error)
	// decapsulate runs ML-KEM.Decaps with the key expanded from seed, after
	// the FIPS 203 §7.3 ciphertext length check.
	decapsulate(bits int, seed, ct []byte) ([]byte, error)
}

// circlBackend is cloudflare/circl's ML-KEM. It implements every parameter set.
type circlBackend struct{}

var _ mlkemBackend = circlBackend{}

func (circlBackend) name() string { return implCircl }

func (circlBackend) version() string { return circlVersion() }

func (circlBackend) supports(bits int) bool { return circlMLKEM(bits) != nil }

func (circlBackend) encapsulationKey(bits int, seed []byte) ([]byte, error) {
	s := circlMLKEM(bits)
	if s == nil {
		return nil, errUnsupported
	}
	if len(seed) != s.SeedSize() {
		return nil, fmt.Errorf("%w: seed length", errInvalidKey)
	}
	pk, _ := s.DeriveKeyPair(seed)
	return pk.MarshalBinary()
}

func (circlBackend) encapsulate(bits int, ek, m []byte) ([]byte, []byte, error) {
	s := circlMLKEM(bits)
	if s == nil {
		return nil, nil, errUnsupported
	}
	pk, err := s.UnmarshalBinaryPublicKey(ek)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errInvalidKey, err)
	}
	return s.EncapsulateDeterministically(pk, m)
}

func (circlBackend) decapsulate(bits int, seed, ct []byte) ([]byte, error) {
	s := circlMLKEM(bits)
	if s == nil {
		return nil, errUnsupported
	}
	if len(seed) != s.SeedSize() {
		return nil, fmt.Errorf("%w: seed length", errInvalidKey)
	}
	if len(ct) != s.CiphertextSize() {
		return nil, errInvalidCiphertext
	}
	_, sk := s.DeriveKeyPair(seed)
	return s.Decapsulate(sk, ct)
}

// circlMLKEM returns circl's scheme for ML-KEM-<bits>.
func circlMLKEM(bits int) kem.Scheme {
	switch bits {
	case 512:
		return mlkem512.Scheme()
	case 768:
		return mlkem768.Scheme()
	case 1024:
		return mlkem1024.Scheme()
	}
	return nil
}

// goBackend is the Go standard library's crypto/mlkem. It implements
// ML-KEM-768 and ML-KEM-1024 only, and handles decapsulation keys only in
// their 64-byte seed form.
//
// Randomness: crypto/mlkem's GenerateKey* and Encapsulate draw from the
// runtime's own generator, so the plugin never calls them. Keys come from
// NewDecapsulationKey* with a seed drawn from the platform DRBG, and
// encapsulation goes through crypto/mlkem/mlkemtest.Encapsulate*, the
// standard library's ML-KEM.Encaps_internal taking the 32 random bytes as an
// argument. Go documents that package as meant for known-answer tests; it is
// the only way to keep the platform's single-randomness-source rule with the
// standard library. It refuses to run in FIPS 140-3 "only" mode
// (GODEBUG=fips140=only), where encapsulate returns errUnsupported.
type goBackend struct{}

var _ mlkemBackend = goBackend{}

func (goBackend) name() string { return implGo }

func (goBackend) version() string { return runtime.Version() }

func (goBackend) supports(bits int) bool { return bits == 768 || bits == 1024 }

func (goBackend) encapsulationKey(bits int, seed []byte) ([]byte, error) {
	switch bits {
	case 768:
		dk, err := mlkem.NewDecapsulationKey768(seed)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errInvalidKey, err)
		}
		return dk.EncapsulationKey().Bytes(), nil
	case 1024:
		dk, err := mlkem.NewDecapsulationKey1024(seed)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errInvalidKey, err)
		}
		return dk.EncapsulationKey().Bytes(), nil
	}
	return nil, errUnsupported
}

func (goBackend) encapsulate(bits int, ek, m []byte) ([]byte, []byte, error) {
	var ss, ct []byte
	switch bits {
	case 768:
		k, err := mlkem.NewEncapsulationKey768(ek)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errInvalidKey, err)
		}
		if ss, ct, err = mlkemtest.Encapsulate768(k, m); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errUnsupported, err)
		}
	case 1024:
		k, err := mlkem.NewEncapsulationKey1024(ek)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errInvalidKey, err)
		}
		if ss, ct, err = mlkemtest.Encapsulate1024(k, m); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errUnsupported, err)
		}
	default:
		return nil, nil, errUnsupported
	}
	return ct, ss, nil
}

func (goBackend) decapsulate(bits int, seed, ct []byte) ([]byte, error) {
	switch bits {
	case 768:
		dk, err := mlkem.NewDecapsulationKey768(seed)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errInvalidKey, err)
		}
		ss, err := dk.Decapsulate(ct)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errInvalidCiphertext, err)
		}
		return ss, nil
	case 1024:
		dk, err := mlkem.NewDecapsulationKey1024(seed)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errInvalidKey, err)
		}
		ss, err := dk.Decapsulate(ct)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errInvalidCiphertext, err)
		}
		return ss, nil
	}
	return nil, errUnsupported
}

// circlVersion is circl's module version from the build information, or the
// version pinned in go.mod when the binary carries none. The build
// information is parsed once.
var circlVersion = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == circlModule {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return circlPinnedVersion
})
