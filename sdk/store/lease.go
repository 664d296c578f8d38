package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Clock tells the time a lease is judged by. In a plugin it is the attested
// clock, env.Clock.Now, so that every daemon sharing a database judges
// terms by the same signed time rather than by its own wall clock; it
// returns an error while that time cannot be trusted.
type Clock func() (time.Time, error)

// LeaseOptions configures NewLease.
type LeaseOptions struct {
	// Name identifies the job the lease guards ("crl-regeneration").
	Name string
	// Holder identifies this process among those sharing the database;
	// it must be unique to it (draw it from the plugin's Rand at start).
	Holder string
	// TTL is the length of a term. A holder renews well within it (every
	// TTL/3, say); when it stops renewing, because it died or lost the
	// database, another holder may take over once the term has run out.
	TTL time.Duration
	// Now is the clock terms are judged by.
	Now Clock
}

// Lease is a named lease held by at most one holder at a time among all the
// processes sharing a database (leader election for a job that must run
// once: CRL regeneration, key rotation, tree heads). Each term carries a
// fencing token that grows with every change of holder; a write guarded by
// the lease checks the token in its own transaction (Guard), so a holder
// that stalled past its term cannot write after its successor started.
//
// Isolation: Acquire is one INSERT … ON CONFLICT DO UPDATE … WHERE …
// RETURNING statement; PostgreSQL runs it under the lease row's lock and
// SQLite under its write lock, so of two processes racing for a free lease
// exactly one gets it. Guard reads the lease row FOR SHARE (PostgreSQL),
// which keeps a takeover from committing until the guarded transaction
// ends.
//
// Clock skew: every holder judges terms by Now. With the attested clock,
// the skew between daemons is the attestation's own uncertainty plus the
// age of each one's snapshot; keep TTL well above clock.max_age.
type Lease struct {
	db   *DB
	opts LeaseOptions
}

// NewLease returns the lease opts.Name for holder opts.Holder. It does not
// touch the database.
func (db *DB) NewLease(opts LeaseOptions) (*Lease, error) {
	switch {
	case opts.Name == "" || opts.Holder == "":
		return nil, fmt.Errorf("%w: lease name and holder must not be empty", ErrInvalidArgument)
	case opts.TTL <= 0:
		return nil, fmt.Errorf("%w: lease ttl must be positive", ErrInvalidArgument)
	case opts.Now == nil:
		return nil, fmt.Errorf("%w: lease needs a clock", ErrInvalidArgument)
	}
	return &Lease{db: db, opts: opts}, nil
}

// TTL is the length of a term.
func (l *Lease) TTL() time.Duration { return l.opts.TTL }

// now reads the lease's clock.
func (l *Lease) now() (time.Time, error) {
	t, err := l.opts.Now()
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrNoClock, err)
	}
	return t, nil
}

// Acquire takes the lease or renews this holder's term, and returns the
// fencing token of the term. It returns ErrLeaseHeld while another holder's
// term runs. The token stays the same across renewals of an unbroken term
// and grows by at least one whenever the lease changes hands or a term
// lapsed before it was renewed.
func (l *Lease) Acquire(ctx context.Context) (int64, error) {
	now, err := l.now()
	if err != nil {
		return 0, err
	}
	until := now.Add(l.opts.TTL).UnixNano()
	var token int64
	err = l.db.Tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, l.db.Rebind(`INSERT INTO store_leases (name, holder, token, expires_ns) VALUES (?, ?, 1, ?)
			ON CONFLICT (name) DO UPDATE SET
				token = CASE WHEN store_leases.holder = excluded.holder AND store_leases.expires_ns > ?
					THEN store_leases.token ELSE store_leases.token + 1 END,
				holder = excluded.holder,
				expires_ns = excluded.expires_ns
			WHERE store_leases.holder = excluded.holder OR store_leases.expires_ns <= ?
			RETURNING token`),
			l.opts.Name, l.opts.Holder, until, now.UnixNano(), now.UnixNano()).Scan(&token)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrLeaseHeld
	}
	if err != nil {
		return 0, fmt.Errorf("store: lease %q: %w", l.opts.Name, err)
	}
	return token, nil
}

// Release ends this holder's term at once, so another holder need not wait
// for it to run out. Releasing a lease not held is not an error.
func (l *Lease) Release(ctx context.Context) error {
	err := l.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, l.db.Rebind(`UPDATE store_leases SET expires_ns = ? WHERE name = ? AND holder = ?`),
			int64(-1<<63), l.opts.Name, l.opts.Holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: lease %q: release: %w", l.opts.Name, err)
	}
	return nil
}

// Guard checks, inside the caller's transaction, that token is still the
// current term of this holder and that the term has not run out; it
// returns ErrLeaseLost otherwise. Call it in the transaction that does the
// guarded work, before the work: with PostgreSQL the lease row then stays
// locked against a takeover until the transaction commits.
func (l *Lease) Guard(ctx context.Context, tx *sql.Tx, token int64) error {
	now, err := l.now()
	if err != nil {
		return err
	}
	var (
		holder  string
		current int64
		expires int64
	)
	err = tx.QueryRowContext(ctx, l.db.Rebind(`SELECT holder, token, expires_ns FROM store_leases WHERE name = ?`+l.db.dialect.shareLock()),
		l.opts.Name).Scan(&holder, &current, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrLeaseLost
	case err != nil:
		return fmt.Errorf("store: lease %q: guard: %w", l.opts.Name, err)
	case holder != l.opts.Holder || current != token || expires <= now.UnixNano():
		return ErrLeaseLost
	}
	return nil
}

// LeaseState is a lease's current term as the database records it.
type LeaseState struct {
	// Holder holds, or last held, the lease; empty when never taken.
	Holder string
	// Token is the term's fencing token.
	Token int64
	// Live reports whether the term has not run out, by the lease's clock.
	Live bool
}

// State reads the lease's current term without changing it.
func (l *Lease) State(ctx context.Context) (LeaseState, error) {
	now, err := l.now()
	if err != nil {
		return LeaseState{}, err
	}
	var (
		st      LeaseState
		expires int64
	)
	err = l.db.db.QueryRowContext(ctx, l.db.Rebind(`SELECT holder, token, expires_ns FROM store_leases WHERE name = ?`),
		l.opts.Name).Scan(&st.Holder, &st.Token, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return LeaseState{}, nil
	}
	if err != nil {
		return LeaseState{}, fmt.Errorf("store: lease %q: state: %w", l.opts.Name, err)
	}
	st.Live = expires > now.UnixNano()
	return st, nil
}
