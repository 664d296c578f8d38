package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// helperTables hold the state of the helpers below. Open creates them in
// every database, next to schema_migrations; the DDL is portable.
var helperTables = []string{
	`CREATE TABLE IF NOT EXISTS store_single_use (
		scope      TEXT NOT NULL,
		item       TEXT NOT NULL,
		expires_ns BIGINT NOT NULL,
		PRIMARY KEY (scope, item)
	)`,
	`CREATE TABLE IF NOT EXISTS store_counters (
		name  TEXT PRIMARY KEY,
		value BIGINT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS store_leases (
		name       TEXT PRIMARY KEY,
		holder     TEXT NOT NULL,
		token      BIGINT NOT NULL,
		expires_ns BIGINT NOT NULL
	)`,
}

// Execer is what the helpers need from a *sql.Tx or a *sql.DB.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ Execer = (*sql.Tx)(nil)
	_ Execer = (*sql.DB)(nil)
)

// UseOnce records item as used within scope (a replay cache: a JWT ID, an
// ACME nonce, a DPoP proof's jti) and returns nil the first time, or
// ErrAlreadyUsed when it was recorded before, by this or any other process
// on the same database. expires is when the record may be purged
// (PurgeUsed); it should be no earlier than the moment the value stops being
// acceptable on its own.
//
// Isolation: one INSERT … ON CONFLICT DO NOTHING on the (scope, item)
// primary key, so of any number of concurrent calls with the same value,
// on any number of daemons, exactly one succeeds, at every isolation level.
func (db *DB) UseOnce(ctx context.Context, scope, item string, expires time.Time) error {
	return db.Tx(ctx, func(tx *sql.Tx) error { return db.UseOnceTx(ctx, tx, scope, item, expires) })
}

// UseOnceTx is UseOnce inside the caller's transaction, so that consuming
// the value and the write it authorises commit together or not at all.
func (db *DB) UseOnceTx(ctx context.Context, q Execer, scope, item string, expires time.Time) error {
	if scope == "" || item == "" {
		return fmt.Errorf("%w: single-use scope and item must not be empty", ErrInvalidArgument)
	}
	res, err := q.ExecContext(ctx, db.Rebind(`INSERT INTO store_single_use (scope, item, expires_ns) VALUES (?, ?, ?)
		ON CONFLICT (scope, item) DO NOTHING`), scope, item, expires.UnixNano())
	if err != nil {
		return fmt.Errorf("store: use once: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: use once: %w", err)
	}
	if n == 0 {
		return ErrAlreadyUsed
	}
	return nil
}

// PurgeUsed deletes the single-use records that expired before now, in
// batches of batch rows (see Purge).
func (db *DB) PurgeUsed(ctx context.Context, now time.Time, batch int) (int64, error) {
	return db.Purge(ctx, PurgeSpec{Table: "store_single_use", Key: []string{"scope", "item"}, ExpiresColumn: "expires_ns"},
		now.UnixNano(), batch)
}

// Next increments the counter name and returns its new value: 1 the first
// time, then 2, 3, … (CRL numbers, serial bookkeeping). The counter is
// durable when Next returns.
//
// Isolation: one INSERT … ON CONFLICT DO UPDATE … RETURNING, which takes the
// counter's row lock (PostgreSQL) or the database's write lock (SQLite):
// concurrent callers on any number of daemons never get the same value, and
// the values handed out are strictly increasing in commit order.
func (db *DB) Next(ctx context.Context, name string) (int64, error) {
	var v int64
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		v, err = db.NextTx(ctx, tx, name)
		return err
	})
	return v, err
}

// NextTx is Next inside the caller's transaction: the counter stays locked
// until it ends, and a rollback gives the value back, so the numbers that
// reach committed rows have no gaps.
func (db *DB) NextTx(ctx context.Context, q Execer, name string) (int64, error) {
	if name == "" {
		return 0, fmt.Errorf("%w: counter name must not be empty", ErrInvalidArgument)
	}
	var v int64
	err := q.QueryRowContext(ctx, db.Rebind(`INSERT INTO store_counters (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = store_counters.value + 1
		RETURNING value`), name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: counter: %w", err)
	}
	return v, nil
}

// LockTx takes a lock named name that is held until tx ends: every other
// transaction asking for the same name, in this or any other process on the
// same database, waits for it. It serialises a read-decide-write sequence
// such as appending to a hash chain. With SQLite it costs nothing (the
// transaction already holds the database's write lock); with PostgreSQL it
// is a transaction-level advisory lock.
func (db *DB) LockTx(ctx context.Context, tx *sql.Tx, name string) error {
	if name == "" {
		return fmt.Errorf("%w: lock name must not be empty", ErrInvalidArgument)
	}
	if err := db.dialect.txLock(ctx, tx, name); err != nil {
		return fmt.Errorf("store: lock %q: %w", name, err)
	}
	return nil
}

// PurgeSpec names what Purge deletes from.
type PurgeSpec struct {
	// Table is the table to purge.
	Table string
	// Key is the table's primary key columns.
	Key []string
	// ExpiresColumn is an integer column; rows whose value is below the
	// threshold are deleted.
	ExpiresColumn string
}

// Purge deletes the rows of spec.Table whose spec.ExpiresColumn is below
// before, at most batch rows per transaction, until none is left, and
// returns how many it deleted. Short transactions keep a large purge from
// holding locks (SQLite's single writer above all) for long: other writers
// get their turn between batches. Identifiers must match [a-z_][a-z0-9_]*.
//
// Isolation: each batch is its own transaction; a row that expires while
// the purge runs may or may not be deleted by it.
func (db *DB) Purge(ctx context.Context, spec PurgeSpec, before int64, batch int) (int64, error) {
	if batch < 1 {
		return 0, fmt.Errorf("%w: purge batch must be at least 1", ErrInvalidArgument)
	}
	if !validIdent(spec.Table) || !validIdent(spec.ExpiresColumn) || len(spec.Key) == 0 {
		return 0, fmt.Errorf("%w: purge table, key and expiry column must be identifiers", ErrInvalidArgument)
	}
	for _, k := range spec.Key {
		if !validIdent(k) {
			return 0, fmt.Errorf("%w: purge key column must be an identifier", ErrInvalidArgument)
		}
	}
	key := strings.Join(spec.Key, ", ")
	q := db.Rebind(`DELETE FROM ` + spec.Table + ` WHERE (` + key + `) IN (
		SELECT ` + key + ` FROM ` + spec.Table + ` WHERE ` + spec.ExpiresColumn + ` < ? LIMIT ?)`)
	var total int64
	for {
		var n int64
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, q, before, batch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: purge %s: %w", spec.Table, err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
