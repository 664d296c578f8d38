package clock

import "errors"

// Errors returned by this package; test with errors.Is.
var (
	// ErrMalformed: the snapshot is not well formed.
	ErrMalformed = errors.New("clock: malformed snapshot")
	// ErrUntrusted: the snapshot is not signed by the pinned authority.
	ErrUntrusted = errors.New("clock: untrusted authority")
	// ErrStale: no snapshot younger than the maximum age is held.
	ErrStale = errors.New("clock: stale attestation")
	// ErrRollback: the snapshot is older than the one already held.
	ErrRollback = errors.New("clock: snapshot older than the current one")
)
