package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// Sizes of the sealed value format.
const (
	// KeySize is the size of one key version: AES-256.
	KeySize = 32
	// Format is the first byte of every value this package seals.
	Format = 0x01
	// HeaderSize is the format byte and the big-endian key version.
	HeaderSize = 1 + 4
	// NonceSize is the GCM nonce size.
	NonceSize = 12
	// TagSize is the GCM tag size.
	TagSize = 16
	// Overhead is how much longer a sealed value is than its plaintext.
	Overhead = HeaderSize + NonceSize + TagSize
)

// Key is one version of a plugin's sealing key, as the SDK receives it on
// Configure. Secret is key material: New copies it into its ciphers, and the
// caller clears its own copy afterwards.
type Key struct {
	// Version is the root key version the key was derived from (>= 1).
	Version uint32
	// Secret is the KeySize-byte key.
	Secret []byte
}

// Sealer seals and opens a plugin's secrets. It is safe for concurrent use
// when its random source is (the plugin's DRBG is).
type Sealer struct {
	rand    io.Reader
	current uint32
	aeads   map[uint32]cipher.AEAD
}

// New returns a Sealer holding keys, sealing under the highest version and
// opening any of them. rand supplies the nonces: pass the plugin's DRBG
// (plugin.Env.Rand). Versions must be distinct and at least 1.
func New(rand io.Reader, keys ...Key) (*Sealer, error) {
	if rand == nil {
		return nil, fmt.Errorf("%w: no random source", ErrKeys)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrKeys)
	}
	s := &Sealer{rand: rand, aeads: make(map[uint32]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if k.Version == 0 {
			return nil, fmt.Errorf("%w: version 0", ErrKeys)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("%w: version %d: key is %d bytes, want %d", ErrKeys, k.Version, len(k.Secret), KeySize)
		}
		if _, dup := s.aeads[k.Version]; dup {
			return nil, fmt.Errorf("%w: version %d given twice", ErrKeys, k.Version)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKeys, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKeys, err)
		}
		s.aeads[k.Version] = aead
		s.current = max(s.current, k.Version)
	}
	return s, nil
}

// Current returns the key version Seal uses.
func (s *Sealer) Current() uint32 { return s.current }

// Versions returns the key versions the sealer can open, oldest first.
func (s *Sealer) Versions() []uint32 {
	v := make([]uint32, 0, len(s.aeads))
	for k := range s.aeads {
		v = append(v, k)
	}
	slices.Sort(v)
	return v
}

// Seal encrypts plaintext under the current key version, bound to aad. Pass
// as aad what identifies where the value is stored (table, column, row id),
// so that a value copied to another row does not open there.
func (s *Sealer) Seal(aad, plaintext []byte) ([]byte, error) {
	aead := s.aeads[s.current]
	out := make([]byte, HeaderSize+NonceSize, Overhead+len(plaintext))
	out[0] = Format
	binary.BigEndian.PutUint32(out[1:HeaderSize], s.current)
	nonce := out[HeaderSize : HeaderSize+NonceSize]
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRand, err)
	}
	ad := additionalData(out[:HeaderSize], aad)
	return aead.Seal(out, nonce, plaintext, ad), nil
}

// Open decrypts a value sealed by this plugin instance under aad. stale
// reports that the value is under an older key version than Current: the
// caller should re-seal it (Seal, or Reseal) the next time it writes the row.
// A value that was altered, sealed under another aad or by another plugin
// instance is refused with ErrRefused; one under a key version the sealer
// does not hold with ErrUnknownVersion.
func (s *Sealer) Open(aad, sealed []byte) (plaintext []byte, stale bool, err error) {
	version, nonce, ct, err := parse(sealed)
	if err != nil {
		return nil, false, err
	}
	aead, ok := s.aeads[version]
	if !ok {
		return nil, false, fmt.Errorf("%w: version %d (this sealer holds %v)", ErrUnknownVersion, version, s.Versions())
	}
	pt, err := aead.Open(nil, nonce, ct, additionalData(sealed[:HeaderSize], aad))
	if err != nil {
		return nil, false, ErrRefused
	}
	return pt, version < s.current, nil
}

// Stale reports whether sealed is under an older key version than Current,
// without decrypting it (the version is not secret).
func (s *Sealer) Stale(sealed []byte) (bool, error) {
	v, err := Version(sealed)
	if err != nil {
		return false, err
	}
	return v < s.current, nil
}

// Reseal returns sealed re-sealed under the current key version and true
// when it was under an older one, or sealed itself and false when it is
// already current. The value is authenticated either way.
func (s *Sealer) Reseal(aad, sealed []byte) ([]byte, bool, error) {
	pt, stale, err := s.Open(aad, sealed)
	if err != nil {
		return nil, false, err
	}
	defer clear(pt)
	if !stale {
		return sealed, false, nil
	}
	out, err := s.Seal(aad, pt)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// Version returns the key version a sealed value is under, checking only
// its framing.
func Version(sealed []byte) (uint32, error) {
	v, _, _, err := parse(sealed)
	return v, err
}

// parse splits a sealed value into its key version, nonce and ciphertext
// with tag. It reads untrusted bytes and only checks framing.
func parse(sealed []byte) (version uint32, nonce, ct []byte, err error) {
	if len(sealed) < Overhead {
		return 0, nil, nil, fmt.Errorf("%w: %d bytes, at least %d expected", ErrMalformed, len(sealed), Overhead)
	}
	if sealed[0] != Format {
		return 0, nil, nil, fmt.Errorf("%w: unknown format 0x%02x", ErrMalformed, sealed[0])
	}
	version = binary.BigEndian.Uint32(sealed[1:HeaderSize])
	if version == 0 {
		return 0, nil, nil, fmt.Errorf("%w: key version 0", ErrMalformed)
	}
	return version, sealed[HeaderSize : HeaderSize+NonceSize], sealed[HeaderSize+NonceSize:], nil
}

// additionalData is the AEAD's associated data: the fixed-size header, then
// the caller's aad.
func additionalData(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	return append(append(ad, header...), aad...)
}
