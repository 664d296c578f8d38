package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	// The pure-Go SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"
)

// File modes of what Open creates.
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// sqliteDialect is the embedded SQLite engine (modernc.org/sqlite).
type sqliteDialect struct{}

var _ dialect = sqliteDialect{}

func (sqliteDialect) name() string { return DriverSQLite }

func (sqliteDialect) rebind(query string) string { return query }

func (sqliteDialect) singleWriter() bool { return true }

// lockMigrations needs no lock: every migration transaction begins
// IMMEDIATE, which keeps other processes' writers out.
func (sqliteDialect) lockMigrations(context.Context, *sql.DB, string) (func(), error) {
	return func() {}, nil
}

// txLock needs no lock: the transaction began IMMEDIATE and holds the
// database's only write lock until it ends.
func (sqliteDialect) txLock(context.Context, *sql.Tx, string) error { return nil }

// shareLock is empty: SQLite has no row locks, and the writer lock taken at
// BEGIN already keeps every row still.
func (sqliteDialect) shareLock() string { return "" }

func (sqliteDialect) open(ctx context.Context, opts Options) (*sql.DB, error) {
	if opts.Path == "" {
		return nil, fmt.Errorf("%w: sqlite needs a path", ErrInvalidOptions)
	}
	if opts.DSN != "" || opts.Schema != "" {
		return nil, fmt.Errorf("%w: sqlite takes a path, not a dsn or schema", ErrInvalidOptions)
	}
	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: path: %w", ErrInvalidOptions, err)
	}
	if err := prepareFile(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", sqliteDSN(path, opts))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// Writers are serialised by DB.Tx; readers run in parallel under WAL.
	db.SetMaxIdleConns(4)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	return db, nil
}

// sqliteDSN builds a file: URI for path carrying the per-connection settings
// that the driver applies to every connection it opens.
func sqliteDSN(path string, opts Options) string {
	ms := opts.BusyTimeout.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(ms, 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// prepareFile creates the parent directory (0700) and the database file (0600)
// when missing, and takes group and other permissions away from an existing
// database file and its journals, so that SQLite, which gives the -wal and
// -shm files the mode of the database, never creates anything wider.
func prepareFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("store: create directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return fmt.Errorf("store: create database file: %w", err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("store: create database file: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: stat database file: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: %s is not a regular file", ErrInvalidOptions, filepath.Base(p))
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, perm&^0o077); err != nil {
				return fmt.Errorf("store: restrict database file mode: %w", err)
			}
		}
	}
	return nil
}
