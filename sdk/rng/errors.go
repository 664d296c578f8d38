package rng

import "errors"

// Errors returned by this package. Callers test them with errors.Is; the
// returned errors wrap them with detail. No message ever carries seed or
// state material.
var (
	// ErrEntropyTooShort means the entropy input is shorter than the security
	// strength (32 bytes).
	ErrEntropyTooShort = errors.New("rng: entropy input too short")
	// ErrNonceTooShort means the nonce is shorter than half the security
	// strength (16 bytes).
	ErrNonceTooShort = errors.New("rng: nonce too short")
	// ErrInputTooLong means an entropy input, nonce, personalization string or
	// additional input exceeds the SP 800-90A maximum (2^35 bits).
	ErrInputTooLong = errors.New("rng: input too long")
	// ErrRequestTooLarge means a single Generate request asks for more than
	// MaxBytesPerRequest bytes.
	ErrRequestTooLarge = errors.New("rng: request too large")
	// ErrReseedRequired means the reseed counter passed the reseed interval; the
	// DRBG refuses to generate until it is reseeded.
	ErrReseedRequired = errors.New("rng: reseed required")
	// ErrInvalidReseedInterval reports a reseed interval outside [1, 2^48].
	ErrInvalidReseedInterval = errors.New("rng: invalid reseed interval")
	// ErrUninstantiated means the DRBG was wiped (or never instantiated).
	ErrUninstantiated = errors.New("rng: drbg not instantiated")
	// ErrSelfTest means the known-answer self-test failed; the implementation
	// must not be used.
	ErrSelfTest = errors.New("rng: self-test failed")
	// ErrHealthTest means an SP 800-90B health test on the raw noise source
	// failed. The wrapping error names the test.
	ErrHealthTest = errors.New("rng: noise source health test failed")
	// ErrStartupSamples means fewer samples than the SP 800-90B start-up test
	// needs were supplied.
	ErrStartupSamples = errors.New("rng: not enough start-up samples")
	// ErrSeed means the seed function failed or returned the wrong amount.
	ErrSeed = errors.New("rng: seed source failed")
	// ErrConfig reports an invalid Config or NativeConfig.
	ErrConfig = errors.New("rng: invalid config")
	// ErrClosed means the Reader was closed.
	ErrClosed = errors.New("rng: reader closed")
	// ErrUnsupported means the operating-system entropy source is not available
	// on this platform.
	ErrUnsupported = errors.New("rng: os entropy source unsupported on this platform")
)
