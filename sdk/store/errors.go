package store

import "errors"

var (
	// ErrInvalidOptions reports Options that cannot be used (for example a
	// missing path or a negative busy timeout).
	ErrInvalidOptions = errors.New("store: invalid options")

	// ErrUnsupportedDriver reports a driver name this package does not
	// implement.
	ErrUnsupportedDriver = errors.New("store: unsupported driver")

	// ErrInvalidMigration reports a migration list that is not usable:
	// versions not strictly increasing, a version below 1, an empty name or
	// an empty Up statement.
	ErrInvalidMigration = errors.New("store: invalid migration")

	// ErrSchemaTooNew reports a database whose recorded history runs two or
	// more migrations past the newest one the caller knows: it was written
	// by a release at least two steps newer and is refused rather than
	// misread. One migration ahead is allowed (expand/contract: the
	// previous release keeps running on the next one's schema during a
	// swap or after a rollback), so it is not an error.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this release")

	// ErrMigrationMismatch reports a database whose recorded migrations do not
	// match the caller's list (a recorded version the caller does not know,
	// or a known version older than the newest recorded one that was never
	// applied).
	ErrMigrationMismatch = errors.New("store: recorded migrations do not match")

	// ErrMigrationFailed wraps the error of a migration that could not be
	// applied; the transaction of that migration was rolled back.
	ErrMigrationFailed = errors.New("store: migration failed")

	// ErrUnavailable reports a database server that cannot be reached or
	// refuses the connection (wrong credentials, unknown database).
	ErrUnavailable = errors.New("store: database unavailable")

	// ErrAlreadyUsed reports a single-use value (UseOnce) recorded before.
	ErrAlreadyUsed = errors.New("store: value already used")

	// ErrLeaseHeld reports a lease held by another holder whose term has
	// not run out.
	ErrLeaseHeld = errors.New("store: lease held by another holder")

	// ErrLeaseLost reports a fencing check (Lease.Guard) that failed: the
	// lease expired or another holder took it over since the token was
	// issued.
	ErrLeaseLost = errors.New("store: lease lost")

	// ErrInvalidArgument reports a helper called with an unusable argument
	// (an empty name, a non-positive batch or TTL, an invalid identifier).
	ErrInvalidArgument = errors.New("store: invalid argument")

	// ErrNoClock reports a lease whose clock cannot tell the time (the
	// attested clock is stale).
	ErrNoClock = errors.New("store: no trusted time")
)
