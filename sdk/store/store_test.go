package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// itemsSchema is the schema most tests use.
var itemsSchema = []Migration{
	{Version: 1, Name: "items", Up: `CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`},
}

// openTest opens a SQLite database in a fresh directory and closes it at
// cleanup.
func openTest(t *testing.T, ms []Migration) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "test.db")
	db, err := Open(t.Context(), Options{Path: path, Migrations: ms})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

// count returns the number of rows of table.
func count(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// insert adds one item through Tx.
func insert(ctx context.Context, db *DB, id int) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO items (id, v) VALUES (?, ?)`), id, fmt.Sprint("item-", id))
		return err
	})
}

func TestOpenOptions(t *testing.T) {
	tests := []struct {
		name string
		opts func(dir string) Options
		want error
	}{
		{"ok/default-driver", func(dir string) Options { return Options{Path: filepath.Join(dir, "a.db")} }, nil},
		{"ok/sqlite-driver", func(dir string) Options {
			return Options{Driver: DriverSQLite, Path: filepath.Join(dir, "a.db"), BusyTimeout: time.Second}
		}, nil},
		{"ok/path-with-uri-characters", func(dir string) Options { return Options{Path: filepath.Join(dir, "a b?c#d%20.db")} }, nil},
		{"fail/empty-path", func(string) Options { return Options{} }, ErrInvalidOptions},
		{"fail/dsn-for-sqlite", func(dir string) Options { return Options{Path: filepath.Join(dir, "a.db"), DSN: "x"} }, ErrInvalidOptions},
		{"fail/negative-busy-timeout", func(dir string) Options {
			return Options{Path: filepath.Join(dir, "a.db"), BusyTimeout: -time.Second}
		}, ErrInvalidOptions},
		{"fail/postgres-without-dsn", func(string) Options { return Options{Driver: DriverPostgres} }, ErrInvalidOptions},
		{"fail/postgres-with-path", func(dir string) Options {
			return Options{Driver: DriverPostgres, DSN: "postgres://x", Path: filepath.Join(dir, "a.db")}
		}, ErrInvalidOptions},
		{"fail/postgres-bad-dsn", func(string) Options { return Options{Driver: DriverPostgres, DSN: "postgres://u:pw@h:port/x"} }, ErrInvalidOptions},
		{"fail/postgres-bad-schema", func(string) Options {
			return Options{Driver: DriverPostgres, DSN: "postgres://x", Schema: "Bad-Schema"}
		}, ErrInvalidOptions},
		{"fail/negative-max-conns", func(string) Options { return Options{Driver: DriverPostgres, DSN: "postgres://x", MaxConns: -1} }, ErrInvalidOptions},
		{"fail/schema-for-sqlite", func(dir string) Options { return Options{Path: filepath.Join(dir, "a.db"), Schema: "s"} }, ErrInvalidOptions},
		{"fail/unknown-driver", func(dir string) Options { return Options{Driver: "SQLite", Path: filepath.Join(dir, "a.db")} }, ErrUnsupportedDriver},
		{"fail/path-is-directory", func(dir string) Options { return Options{Path: dir} }, ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := Open(t.Context(), tt.opts(dir))
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Open error = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if _, err := os.Stat(tt.opts(dir).Path); err != nil {
				t.Errorf("database file not at its path: %v", err)
			}
			if got := db.Driver(); got != DriverSQLite {
				t.Errorf("Driver() = %q, want %q", got, DriverSQLite)
			}
			if err := db.SQL().PingContext(t.Context()); err != nil {
				t.Errorf("Ping: %v", err)
			}
		})
	}
}

func TestInvalidMigrations(t *testing.T) {
	tests := []struct {
		name string
		ms   []Migration
	}{
		{"fail/equal-versions", []Migration{{1, "a", "SELECT 1"}, {1, "b", "SELECT 1"}}},
		{"fail/decreasing-versions", []Migration{{2, "a", "SELECT 1"}, {1, "b", "SELECT 1"}}},
		{"fail/zero-version", []Migration{{0, "a", "SELECT 1"}}},
		{"fail/negative-version", []Migration{{-3, "a", "SELECT 1"}}},
		{"fail/empty-name", []Migration{{1, " ", "SELECT 1"}}},
		{"fail/empty-sql", []Migration{{1, "a", "\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.db")
			_, err := Open(t.Context(), Options{Path: path, Migrations: tt.ms})
			if !errors.Is(err, ErrInvalidMigration) {
				t.Fatalf("Open error = %v, want ErrInvalidMigration", err)
			}
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("database file created for invalid migrations (stat: %v)", err)
			}
		})
	}
}

func TestPragmasOnEveryConnection(t *testing.T) {
	db, _ := openTest(t, nil)
	ctx := t.Context()
	// Hold two connections at once so the pool has to open a second one.
	var conns []*sql.Conn
	for range 2 {
		c, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatalf("Conn: %v", err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		checks := []struct {
			pragma string
			want   string
		}{
			{"journal_mode", "wal"},
			{"synchronous", "2"}, // FULL
			{"foreign_keys", "1"},
			{"busy_timeout", fmt.Sprint(DefaultBusyTimeout.Milliseconds())},
		}
		for _, ck := range checks {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+ck.pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d PRAGMA %s: %v", i, ck.pragma, err)
			}
			if got != ck.want {
				t.Errorf("conn %d PRAGMA %s = %q, want %q", i, ck.pragma, got, ck.want)
			}
		}
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	forEachEngine(t, func(t *testing.T, tg target) {
		db := tg.open(t, []Migration{{1, "fk", `
		CREATE TABLE parent (id INTEGER PRIMARY KEY);
		CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id));`}})
		err := db.Tx(t.Context(), func(tx *sql.Tx) error {
			_, err := tx.ExecContext(t.Context(), `INSERT INTO child (id, parent_id) VALUES (1, 42)`)
			return err
		})
		if err == nil {
			t.Fatal("insert violating a foreign key succeeded")
		}
	})
}

func TestFileModes(t *testing.T) {
	t.Run("ok/created", func(t *testing.T) {
		db, path := openTest(t, itemsSchema)
		if err := insert(t.Context(), db, 1); err != nil {
			t.Fatalf("insert: %v", err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("stat: %v", err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s mode = %o, want 600", filepath.Base(p), got)
			}
		}
		fi, err := os.Stat(filepath.Dir(path))
		if err != nil {
			t.Fatalf("stat dir: %v", err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("directory mode = %o, want 700", got)
		}
	})
	t.Run("ok/existing-file-tightened", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "loose.db")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := Open(t.Context(), Options{Path: path})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer db.Close()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("mode = %o, want 600", got)
		}
	})
}

func TestTx(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name      string
		fn        func(ctx context.Context, db *DB) error
		want      error
		wantPanic bool
		wantRows  int
	}{
		{"ok/commit", func(ctx context.Context, db *DB) error { return insert(ctx, db, 1) }, nil, false, 1},
		{"fail/error-rolls-back", func(ctx context.Context, db *DB) error {
			return db.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO items (id, v) VALUES (1, 'x')`); err != nil {
					return err
				}
				return errBoom
			})
		}, errBoom, false, 0},
		{"fail/panic-rolls-back", func(ctx context.Context, db *DB) error {
			return db.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO items (id, v) VALUES (1, 'x')`); err != nil {
					return err
				}
				panic(errBoom)
			})
		}, nil, true, 0},
		{"fail/constraint-rolls-back-whole-tx", func(ctx context.Context, db *DB) error {
			return db.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO items (id, v) VALUES (1, 'x')`); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO items (id, v) VALUES (1, 'duplicate')`)
				return err
			})
		}, nil, false, 0},
	}
	forEachEngine(t, func(t *testing.T, tg target) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				db := tg.open(t, itemsSchema)
				if _, err := db.SQL().ExecContext(t.Context(), `DELETE FROM items`); err != nil {
					t.Fatal(err)
				}
				var err error
				panicked := func() (p bool) {
					defer func() { p = recover() != nil }()
					err = tt.fn(t.Context(), db)
					return false
				}()
				if panicked != tt.wantPanic {
					t.Fatalf("panicked = %v, want %v", panicked, tt.wantPanic)
				}
				switch {
				case tt.want != nil && !errors.Is(err, tt.want):
					t.Fatalf("error = %v, want %v", err, tt.want)
				case tt.want == nil && tt.wantRows == 0 && !tt.wantPanic && err == nil:
					t.Fatal("error = nil, want a constraint error")
				case tt.wantRows > 0 && err != nil:
					t.Fatalf("error = %v", err)
				}
				if got := count(t, db, "items"); got != tt.wantRows {
					t.Errorf("rows = %d, want %d", got, tt.wantRows)
				}
				// The writer slot and the connection are released: a later
				// transaction goes through.
				if err := insert(t.Context(), db, 99); err != nil {
					t.Errorf("insert after: %v", err)
				}
			})
		}
	})
}

func TestTxWaitHonoursContext(t *testing.T) {
	forEachEngine(t, func(t *testing.T, tg target) {
		db := tg.open(t, itemsSchema)
		holding := make(chan struct{})
		release := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- db.Tx(t.Context(), func(*sql.Tx) error {
				close(holding)
				<-release
				return nil
			})
		}()
		<-holding
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := insert(ctx, db, 1); !errors.Is(err, context.Canceled) {
			t.Errorf("Tx with cancelled context while another runs = %v, want context.Canceled", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("holding Tx: %v", err)
		}
	})
}

func TestConcurrentWriters(t *testing.T) {
	const writers, each = 8, 50
	forEachEngine(t, func(t *testing.T, tg target) {
		db := tg.open(t, itemsSchema)
		var wg sync.WaitGroup
		errs := make(chan error, writers*each+each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if err := insert(t.Context(), db, w*each+i+1); err != nil {
						errs <- err
					}
				}
			})
		}
		// Readers run alongside the writers.
		wg.Go(func() {
			for range each {
				var n int
				if err := db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM items`).Scan(&n); err != nil {
					errs <- err
				}
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent write: %v", err)
		}
		if got := count(t, db, "items"); got != writers*each {
			t.Errorf("rows = %d, want %d", got, writers*each)
		}
	})
}

func TestConcurrentWritersTwoHandles(t *testing.T) {
	// Two DB values on one database stand for two processes: they share no
	// mutex, so the engine keeps them apart (BEGIN IMMEDIATE and the busy
	// timeout for SQLite, the server for PostgreSQL).
	forEachEngine(t, func(t *testing.T, tg target) {
		db1 := tg.open(t, itemsSchema)
		db2 := tg.open(t, itemsSchema)
		const each = 40
		var wg sync.WaitGroup
		errs := make(chan error, 2*each)
		for k, db := range []*DB{db1, db2} {
			wg.Go(func() {
				for i := range each {
					if err := insert(t.Context(), db, k*each+i+1); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("write: %v", err)
		}
		if got := count(t, db1, "items"); got != 2*each {
			t.Errorf("rows = %d, want %d", got, 2*each)
		}
	})
}

func TestDurableAcrossReopen(t *testing.T) {
	forEachEngine(t, func(t *testing.T, tg target) {
		db, err := Open(t.Context(), tg.opts(itemsSchema))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		for i := 1; i <= 10; i++ {
			if err := insert(t.Context(), db, i); err != nil {
				t.Fatalf("insert: %v", err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		db = tg.open(t, itemsSchema)
		if got := count(t, db, "items"); got != 10 {
			t.Errorf("rows after reopen = %d, want 10", got)
		}
		var v string
		if err := db.SQL().QueryRowContext(t.Context(), db.Rebind(`SELECT v FROM items WHERE id = ?`), 7).Scan(&v); err != nil || v != "item-7" {
			t.Errorf("row 7 = %q, %v; want item-7", v, err)
		}
	})
}
