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
	// DSN is the PostgreSQL connection string, a URL
	// (postgres://user:pass@host:5432/db?sslmode=verify-full) or key=value
	// pairs. Unused by SQLite. It holds a password: never log it (RedactDSN
	// masks it).
	DSN string
	// Schema is the PostgreSQL schema the database lives in, created when
	// missing and set as the search_path of every connection; empty keeps
	// the server's default search_path. It must match [a-z_][a-z0-9_]* (see
	// SchemaName). Unused by SQLite.
	Schema string
	// MaxConns caps the PostgreSQL connection pool (DefaultMaxConns when
	// zero). Unused by SQLite.
	MaxConns int
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
	// lockMigrations serialises migrations across processes (and creates
	// the schema); it returns the release function.
	lockMigrations(ctx context.Context, db *sql.DB, schema string) (func(), error)
	// txLock takes a lock named name held until tx ends, across processes.
	txLock(ctx context.Context, tx *sql.Tx, name string) error
	// shareLock is appended to a SELECT that must keep its rows from
	// changing until the transaction ends.
	shareLock() string
}

// DB is an open database. It is safe for concurrent use.
type DB struct {
	db      *sql.DB
	dialect dialect
	// writer is a one-slot semaphore held for the whole of a Tx when the
	// engine allows a single writer at a time; nil otherwise.
	writer chan struct{}
	// schema is Options.Schema, for the migration lock.
	schema string
}

// Open opens (creating if needed) the database described by opts, applies the
// pending migrations and returns it ready for use. The caller must Close it.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.BusyTimeout < 0 {
		return nil, fmt.Errorf("%w: negative busy timeout", ErrInvalidOptions)
	}
	if opts.MaxConns < 0 {
		return nil, fmt.Errorf("%w: negative max conns", ErrInvalidOptions)
	}
	if opts.Schema != "" && !validIdent(opts.Schema) {
		return nil, fmt.Errorf("%w: schema must match [a-z_][a-z0-9_]* (at most %d bytes)", ErrInvalidOptions, MaxIdentLen)
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
	case DriverPostgres:
		d = postgresDialect{}
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedDriver, opts.Driver)
	}
	sqldb, err := d.open(ctx, opts)
	if err != nil {
		return nil, err
	}
	db := &DB{db: sqldb, dialect: d, schema: opts.Schema}
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

// Ping checks that the database answers, for health checks: with
// PostgreSQL it fails with ErrUnavailable while the server is down and
// succeeds again once it is back (the pool reconnects by itself).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.db.PingContext(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

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
// turn (or for ctx to end) before beginning, and BEGIN IMMEDIATE keeps other
// processes out, so every Tx is serialisable. With PostgreSQL, transactions
// run concurrently at the server's default isolation, READ COMMITTED: a
// service that reads, decides and writes must lock what it read (LockTx,
// SELECT … FOR UPDATE) or use the helpers (UseOnce, Next, Lease), which are
// single atomic statements.
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
