package seal

import "errors"

// Errors returned by this package; test with errors.Is. No message carries
// key material or plaintext.
var (
	// ErrMalformed: the value is not a sealed value of a known format.
	ErrMalformed = errors.New("seal: malformed sealed value")
	// ErrUnknownVersion: the value is sealed under a key version this sealer
	// does not hold (a newer root key, or one the operator retired).
	ErrUnknownVersion = errors.New("seal: sealed under an unknown key version")
	// ErrRefused: the value does not authenticate: it was altered, belongs
	// to another row (wrong AAD) or to another plugin instance.
	ErrRefused = errors.New("seal: sealed value refused")
	// ErrKeys: the keys given to New are unusable.
	ErrKeys = errors.New("seal: invalid keys")
	// ErrRand: the random source failed.
	ErrRand = errors.New("seal: random source failed")
)
