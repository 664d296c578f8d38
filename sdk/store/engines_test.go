package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/store/pgtest"
)

// pg is the package's private PostgreSQL cluster, started by the first
// test that needs it.
var pg pgtest.Lazy

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

var (
	pgDBOnce sync.Once
	pgDBDSN  string
	pgSchema atomic.Int64
)

// target is one database location: every Options it returns reaches the
// same data, as a file (SQLite) or a schema (PostgreSQL).
type target struct {
	driver string
	opts   func(ms []Migration) Options
}

// open opens the target with ms and closes it at cleanup.
func (tg target) open(t *testing.T, ms []Migration) *DB {
	t.Helper()
	db, err := Open(t.Context(), tg.opts(ms))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// engine makes fresh targets of one driver.
type engine struct {
	name   string
	target func(t *testing.T) target
}

// engines are the drivers the shared suite runs on.
var engines = []engine{
	{DriverSQLite, func(t *testing.T) target {
		path := filepath.Join(t.TempDir(), "data", "test.db")
		return target{DriverSQLite, func(ms []Migration) Options { return Options{Path: path, Migrations: ms} }}
	}},
	{DriverPostgres, func(t *testing.T) target {
		c := pg.Get(t)
		pgDBOnce.Do(func() { pgDBDSN = c.NewDatabase(t) })
		schema := fmt.Sprintf("test_%d", pgSchema.Add(1))
		dsn := pgDBDSN
		return target{DriverPostgres, func(ms []Migration) Options {
			return Options{Driver: DriverPostgres, DSN: dsn, Schema: schema, Migrations: ms}
		}}
	}},
}

// forEachEngine runs fn as a subtest per engine, on a fresh target.
func forEachEngine(t *testing.T, fn func(t *testing.T, tg target)) {
	t.Helper()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, e.target(t)) })
	}
}

// tableExists reports whether db has a table named name.
func tableExists(t *testing.T, db *DB, name string) bool {
	t.Helper()
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if db.Driver() == DriverPostgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int
	if err := db.SQL().QueryRowContext(t.Context(), db.Rebind(q), name).Scan(&n); err != nil {
		t.Fatalf("table exists: %v", err)
	}
	return n > 0
}
