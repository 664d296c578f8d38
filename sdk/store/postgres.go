package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// DriverPostgres is the name of the PostgreSQL driver (jackc/pgx v5 through
// database/sql).
const DriverPostgres = "postgres"

// DefaultMaxConns is the pool size of a PostgreSQL database when
// Options.MaxConns is zero.
const DefaultMaxConns = 10

// DefaultConnectTimeout bounds one connection attempt to PostgreSQL when the
// DSN sets no connect_timeout.
const DefaultConnectTimeout = 5 * time.Second

// postgresDialect is a PostgreSQL server reached through pgx.
type postgresDialect struct{}

var _ dialect = postgresDialect{}

func (postgresDialect) name() string { return DriverPostgres }

func (postgresDialect) rebind(query string) string { return rebindDollar(query) }

func (postgresDialect) singleWriter() bool { return false }

func (postgresDialect) open(ctx context.Context, opts Options) (*sql.DB, error) {
	if opts.DSN == "" {
		return nil, fmt.Errorf("%w: postgres needs a dsn", ErrInvalidOptions)
	}
	if opts.Path != "" {
		return nil, fmt.Errorf("%w: postgres takes a dsn, not a path", ErrInvalidOptions)
	}
	if err := CheckDSN(opts.DSN); err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(opts.DSN)
	if err != nil {
		// The parser's message may quote the DSN, password and all.
		return nil, fmt.Errorf("%w: the dsn cannot be parsed (its value is not shown)", ErrInvalidOptions)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.Schema != "" {
		cfg.RuntimeParams["search_path"] = quoteIdent(opts.Schema)
	}
	db := stdlib.OpenDB(*cfg)
	conns := opts.MaxConns
	if conns == 0 {
		conns = DefaultMaxConns
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	// Connections are recycled now and then, so that a server restarted
	// behind a proxy or a changed password is noticed without a restart.
	db.SetConnMaxLifetime(30 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, unavailable(err)
	}
	return db, nil
}

// lockMigrations takes a session-level advisory lock named after the schema
// on a connection of its own, creates the schema when missing, and returns
// the function that releases the lock. Two daemons opening the same schema
// together migrate one after the other; the second finds every migration
// recorded.
func (postgresDialect) lockMigrations(ctx context.Context, db *sql.DB, schema string) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	key := "aunsorm/store/migrate:" + schema
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	release := func() {
		// A fresh context: the caller's may be done, and the lock must go
		// (closing the connection would release it too).
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
		_ = conn.Close()
	}
	if schema != "" {
		if _, err := conn.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoteIdent(schema)); err != nil {
			release()
			return nil, fmt.Errorf("store: create schema: %w", err)
		}
	}
	return release, nil
}

// txLock takes a transaction-level advisory lock named name: it is held
// until the transaction ends, and every other transaction asking for the
// same name waits for it, in any process on the same database.
func (postgresDialect) txLock(ctx context.Context, tx *sql.Tx, name string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, name)
	return err
}

// shareLock is the row-lock clause a fencing check adds to its SELECT.
func (postgresDialect) shareLock() string { return " FOR SHARE" }

// unavailable wraps a failure to reach the server as ErrUnavailable, with
// the server's own message when it sent one (bad password, unknown
// database) and pgx's otherwise. Neither quotes the password.
func unavailable(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Errorf("%w: %s (SQLSTATE %s)", ErrUnavailable, pgErr.Message, pgErr.Code)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// quoteIdent quotes an identifier for PostgreSQL. Schema names reaching it
// have passed validIdent, so it never needs to escape anything; it quotes
// anyway so a reserved word is usable.
func quoteIdent(s string) string {
	return `"` + s + `"`
}
