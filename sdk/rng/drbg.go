package rng

import (
	"crypto/hmac"
	"crypto/sha512"
	"fmt"
	"hash"
)

// Parameters of HMAC_DRBG (NIST SP 800-90A Rev. 1, §10.1, Table 2) as
// implemented here.
const (
	// SecurityStrength is the security strength in bits. HMAC_DRBG with
	// SHA-512 supports 256, the highest strength SP 800-90A defines.
	SecurityStrength = 256
	// MinEntropyBytes is the least entropy input accepted by instantiate
	// and reseed: security_strength bits.
	MinEntropyBytes = SecurityStrength / 8
	// MinNonceBytes is the least nonce accepted: security_strength/2 bits
	// (SP 800-90A §8.6.7).
	MinNonceBytes = SecurityStrength / 16
	// MaxBytesPerRequest is the largest single Generate request:
	// max_number_of_bits_per_request = 2^19 bits.
	MaxBytesPerRequest = 1 << 16
	// MaxReseedInterval is the largest reseed interval SP 800-90A allows
	// (2^48 requests); it is also the default.
	MaxReseedInterval uint64 = 1 << 48
	// maxInputBytes is max_length / max_personalization_string_length /
	// max_additional_input_length = 2^35 bits.
	maxInputBytes uint64 = 1 << 32
)

// HMACDRBG is the HMAC_DRBG mechanism of NIST SP 800-90A Rev. 1 §10.1.2
// without prediction resistance requests (callers reseed explicitly).
// Its working state (K, V) is secret: it never leaves the value and Wipe
// zeroises it.
//
// An HMACDRBG is not safe for concurrent use; Reader adds the locking.
type HMACDRBG struct {
	newHash        func() hash.Hash
	k, v           []byte    // secret working state
	mac            hash.Hash // HMAC keyed with k
	tmp            []byte    // scratch for the next key
	reseedCounter  uint64
	reseedInterval uint64
	instantiated   bool
}

// NewHMACDRBG instantiates HMAC_DRBG with SHA-512 (SP 800-90A §10.1.2.3).
// entropy must hold at least MinEntropyBytes of full-entropy input, nonce at
// least MinNonceBytes; personalization is optional. The inputs are copied
// into the seed material and not retained.
func NewHMACDRBG(entropy, nonce, personalization []byte) (*HMACDRBG, error) {
	return newHMACDRBG(sha512.New, entropy, nonce, personalization)
}

// newHMACDRBG instantiates HMAC_DRBG over any approved hash; the known-answer
// tests use it with SHA-256 as well.
func newHMACDRBG(h func() hash.Hash, entropy, nonce, personalization []byte) (*HMACDRBG, error) {
	if err := checkEntropy(entropy); err != nil {
		return nil, err
	}
	if len(nonce) < MinNonceBytes {
		return nil, fmt.Errorf("%w: %d bytes, need %d", ErrNonceTooShort, len(nonce), MinNonceBytes)
	}
	if err := checkLen("nonce", len(nonce)); err != nil {
		return nil, err
	}
	if err := checkLen("personalization string", len(personalization)); err != nil {
		return nil, err
	}
	size := h().Size()
	d := &HMACDRBG{
		newHash:        h,
		k:              make([]byte, size),
		v:              make([]byte, size),
		tmp:            make([]byte, 0, size),
		reseedInterval: MaxReseedInterval,
	}
	d.setKey(d.k) // Key = 0x00 00...00
	for i := range d.v {
		d.v[i] = 0x01 // V = 0x01 01...01
	}
	seed := concat(entropy, nonce, personalization)
	d.update(seed)
	clear(seed)
	d.reseedCounter = 1
	d.instantiated = true
	return d, nil
}

// Reseed mixes fresh entropy and optional additional input into the state
// and resets the reseed counter (SP 800-90A §10.1.2.4).
func (d *HMACDRBG) Reseed(entropy, additional []byte) error {
	if !d.instantiated {
		return ErrUninstantiated
	}
	if err := checkEntropy(entropy); err != nil {
		return err
	}
	if err := checkLen("additional input", len(additional)); err != nil {
		return err
	}
	seed := concat(entropy, additional)
	d.update(seed)
	clear(seed)
	d.reseedCounter = 1
	return nil
}

// Generate fills out with pseudorandom bytes (SP 800-90A §10.1.2.5).
// len(out) must not exceed MaxBytesPerRequest. additional is optional
// additional input. Once the reseed counter exceeds the reseed interval it
// returns ErrReseedRequired and leaves out untouched until Reseed is called.
func (d *HMACDRBG) Generate(out, additional []byte) error {
	if !d.instantiated {
		return ErrUninstantiated
	}
	if len(out) > MaxBytesPerRequest {
		return fmt.Errorf("%w: %d bytes, max %d", ErrRequestTooLarge, len(out), MaxBytesPerRequest)
	}
	if err := checkLen("additional input", len(additional)); err != nil {
		return err
	}
	if d.reseedCounter > d.reseedInterval {
		return ErrReseedRequired
	}
	if len(additional) > 0 {
		d.update(additional)
	}
	for off := 0; off < len(out); {
		d.v = d.prf(d.v, d.v) // V = HMAC(Key, V)
		off += copy(out[off:], d.v)
	}
	d.update(additional)
	d.reseedCounter++
	return nil
}

// SetReseedInterval sets how many Generate requests are allowed between
// reseeds, in [1, MaxReseedInterval]. The default is MaxReseedInterval.
func (d *HMACDRBG) SetReseedInterval(n uint64) error {
	if n == 0 || n > MaxReseedInterval {
		return fmt.Errorf("%w: %d", ErrInvalidReseedInterval, n)
	}
	d.reseedInterval = n
	return nil
}

// ReseedRequired reports whether Generate would refuse with
// ErrReseedRequired.
func (d *HMACDRBG) ReseedRequired() bool {
	return d.instantiated && d.reseedCounter > d.reseedInterval
}

// Wipe zeroises the working state (K and V) and uninstantiates the DRBG
// (SP 800-90A §9.4). Every later call fails with ErrUninstantiated.
//
// The HMAC keyed with K is dropped, not zeroised: Go gives no way to clear
// the pads inside crypto/hmac, so they stay until the garbage collector
// reuses the memory.
func (d *HMACDRBG) Wipe() {
	clear(d.k)
	clear(d.v)
	clear(d.tmp[:cap(d.tmp)])
	d.mac = nil
	d.reseedCounter = 0
	d.instantiated = false
}

// update is HMAC_DRBG_Update (SP 800-90A §10.1.2.2). An empty provided is
// the spec's Null input.
func (d *HMACDRBG) update(provided []byte) {
	for _, sep := range []byte{0x00, 0x01} {
		d.tmp = d.prf(d.tmp, d.v, []byte{sep}, provided) // Key = HMAC(Key, V || sep || provided)
		d.setKey(d.tmp)
		d.v = d.prf(d.v, d.v) // V = HMAC(Key, V)
		if len(provided) == 0 {
			return
		}
	}
}

// prf returns HMAC(Key, parts...) written over dst[:0].
func (d *HMACDRBG) prf(dst []byte, parts ...[]byte) []byte {
	d.mac.Reset()
	for _, p := range parts {
		d.mac.Write(p)
	}
	return d.mac.Sum(dst[:0])
}

// setKey installs key as K and keys the HMAC with it.
func (d *HMACDRBG) setKey(key []byte) {
	copy(d.k, key)
	clear(d.tmp[:cap(d.tmp)])
	d.mac = hmac.New(d.newHash, d.k)
}

func checkEntropy(entropy []byte) error {
	if len(entropy) < MinEntropyBytes {
		return fmt.Errorf("%w: %d bytes, need %d", ErrEntropyTooShort, len(entropy), MinEntropyBytes)
	}
	return checkLen("entropy input", len(entropy))
}

func checkLen(what string, n int) error {
	if uint64(n) > maxInputBytes {
		return fmt.Errorf("%w: %s of %d bytes, max %d", ErrInputTooLong, what, n, maxInputBytes)
	}
	return nil
}

func concat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
