package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// DriverSQLite is the name of the embedded SQLite driver, the default.
const DriverSQLite = "sqlite"

// DefaultBusyTimeout is how long a connection waits for a lock held by
// another connection or process before giving up, when Options.BusyTimeout is
// zero.
const DefaultBusyTimeout = 5 * time.Second

// Options configures Open.
type Options struct {
	// Driver selects the database: "sqlite" (the default when empty).
	Driver string
	// Path is the SQLite database file. Its parent directory is created with
	// mode 0700 when missing; the file is created with mode 0600.
	Path string
	// DSN is the connection string of a server database (PostgreSQL, not
	// available yet). Unused by SQLite.
	DSN string
	// Migrations is the caller's schema history, oldest first, with strictly
	// increasing versions.
	Migrations []Migration
	// BusyTimeout is how long to wait for a lock held elsewhere;
	// DefaultBusyTimeout when zero. Millisecond resolution.
	BusyTimeout time.Duration
}

// Migration is one step of a schema history.
type Migration struct {
	// Version orders migrations; it must be at least 1 and strictly
	// increasing along Options.Migrations.
	Version int
	// Name is a short description recorded with the version.
	Name string
	// Up is the SQL run to apply the migration. It may hold several
	// statements separated by semicolons and runs inside a transaction.
	Up string
}

// dialect is what differs between database engines. Everything above it
// (migrations, Tx, the DB type) is shared, so that a PostgreSQL dialect can be
// added with the same schema and the same tests.
type dialect interface {
	// name is the driver name reported by DB.Driver.
	name() string
	// open returns a configured pool; it must fail without side effects on
	// invalid options.
	open(ctx context.Context, opts Options) (*sql.DB, error)
	// rebind rewrites ? placeholders into the engine's own.
	rebind(query string) string
	// singleWriter reports whether writers must be serialised in-process.
	singleWriter() bool
}

// DB is an open database. It is safe for concurrent use.
type DB struct {
	db      *sql.DB
	dialect dialect
	// writer is a one-slot semaphore held for the whole of a Tx when the
	// engine allows a single writer at a time; nil otherwise.
	writer chan struct{}
}

// Open opens (creating if needed) the database described by opts, applies the
// pending migrations and returns it ready for use. The caller must Close it.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.BusyTimeout < 0 {
		return nil, fmt.Errorf("%w: negative busy timeout", ErrInvalidOptions)
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if err := validateMigrations(opts.Migrations); err != nil {
		return nil, err
	}
	var d dialect
	switch opts.Driver {
	case "", DriverSQLite:
		d = sqliteDialect{}
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedDriver, opts.Driver)
	}
	sqldb, err := d.open(ctx, opts)
	if err != nil {
		return nil, err
	}
	db := &DB{db: sqldb, dialect: d}
	if d.singleWriter() {
		db.writer = make(chan struct{}, 1)
	}
	if err := db.migrate(ctx, opts.Migrations); err != nil {
		_ = sqldb.Close()
		return nil, err
	}
	return db, nil
}

// SQL returns the underlying pool, for reads and for anything Tx does not
// cover. Writes should go through Tx so that they are serialised.
func (db *DB) SQL() *sql.DB { return db.db }

// Driver returns the name of the driver in use, such as "sqlite".
func (db *DB) Driver() string { return db.dialect.name() }

// Rebind rewrites a query written with ? placeholders into the placeholder
// syntax of the driver in use. For SQLite the query is returned unchanged;
// for PostgreSQL each ? outside string literals, quoted identifiers and
// comments becomes $1, $2, … in order.
func (db *DB) Rebind(query string) string { return db.dialect.rebind(query) }

// Close closes the pool. Transactions in progress are not waited for.
func (db *DB) Close() error {
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Tx runs fn inside a transaction. The transaction is committed when fn
// returns nil and rolled back when fn returns an error (which Tx returns as
// is), when committing is not reached because fn panicked (the panic then
// continues), or when ctx is cancelled. When Tx returns nil the transaction is
// durable.
//
// With SQLite, the transactions of one DB run one at a time: Tx waits for its
// turn (or for ctx to end) before beginning.
func (db *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if db.writer != nil {
		select {
		case db.writer <- struct{}{}:
			defer func() { <-db.writer }()
		case <-ctx.Done():
			return fmt.Errorf("store: waiting for writer: %w", ctx.Err())
		}
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	finished := false
	defer func() {
		// Reached without finishing only when fn panicked or called
		// runtime.Goexit: release the transaction and let it unwind.
		if !finished {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		finished = true
		_ = tx.Rollback()
		return err
	}
	finished = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}
