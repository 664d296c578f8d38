package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// history is a three-step schema history; tests take prefixes of it.
var history = []Migration{
	{Version: 1, Name: "items", Up: `CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`},
	{Version: 2, Name: "tags", Up: `CREATE TABLE tags (item_id INTEGER NOT NULL REFERENCES items(id), tag TEXT NOT NULL);
		CREATE INDEX tags_item ON tags (item_id);`},
	{Version: 5, Name: "items-created", Up: `ALTER TABLE items ADD COLUMN created INTEGER NOT NULL DEFAULT 0`},
}

// versions returns the recorded versions of the database at path.
func versions(t *testing.T, path string, ms []Migration) []int {
	t.Helper()
	db, err := Open(t.Context(), Options{Path: path, Migrations: ms})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	vs, err := db.recordedVersions(t.Context())
	if err != nil {
		t.Fatalf("recordedVersions: %v", err)
	}
	return vs
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMigrations(t *testing.T) {
	tests := []struct {
		name  string
		steps [][]Migration // opened in turn on the same file
		want  []int
	}{
		{"ok/none", [][]Migration{nil}, nil},
		{"ok/all-at-once", [][]Migration{history}, []int{1, 2, 5}},
		{"ok/reopen-is-idempotent", [][]Migration{history, history, history}, []int{1, 2, 5}},
		{"ok/incremental", [][]Migration{history[:1], history[:2], history}, []int{1, 2, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.db")
			var got []int
			for _, ms := range tt.steps {
				got = versions(t, path, ms)
			}
			if !equalInts(got, tt.want) {
				t.Errorf("versions = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMigrationsAppliedOnce(t *testing.T) {
	// A migration that is not idempotent fails if it runs twice; the counter
	// table proves it ran exactly once across reopens.
	ms := []Migration{{1, "counter", `CREATE TABLE runs (n INTEGER); INSERT INTO runs VALUES (1);`}}
	path := filepath.Join(t.TempDir(), "once.db")
	for range 3 {
		db, err := Open(t.Context(), Options{Path: path, Migrations: ms})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if got := count(t, db, "runs"); got != 1 {
			t.Errorf("migration ran %d times, want 1", got)
		}
		_ = db.Close()
	}
}

func TestMigrationRefusals(t *testing.T) {
	tests := []struct {
		name  string
		first []Migration
		then  []Migration
		want  error
	}{
		{"fail/newer-database", history, history[:2], ErrSchemaTooNew},
		{"fail/newer-database-no-migrations", history[:1], nil, ErrSchemaTooNew},
		{"fail/unknown-recorded-version", []Migration{history[0], {3, "other", "SELECT 1"}}, history, ErrMigrationMismatch},
		{"fail/skipped-older-version", []Migration{history[0], history[2]}, history, ErrMigrationMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.db")
			versions(t, path, tt.first)
			_, err := Open(t.Context(), Options{Path: path, Migrations: tt.then})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open error = %v, want %v", err, tt.want)
			}
			// The refusal changed nothing: the first history still opens.
			versions(t, path, tt.first)
		})
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	bad := append(append([]Migration(nil), history[:1]...),
		Migration{Version: 2, Name: "broken", Up: `CREATE TABLE half (id INTEGER); INSERT INTO nowhere VALUES (1);`})
	_, err := Open(t.Context(), Options{Path: path, Migrations: bad})
	if !errors.Is(err, ErrMigrationFailed) {
		t.Fatalf("Open error = %v, want ErrMigrationFailed", err)
	}
	// Version 1 was applied and recorded; version 2 left nothing behind.
	db, err := Open(t.Context(), Options{Path: path, Migrations: history[:1]})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	vs, err := db.recordedVersions(t.Context())
	if err != nil || !equalInts(vs, []int{1}) {
		t.Errorf("versions = %v, %v; want [1]", vs, err)
	}
	var n int
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("table of failed migration exists (%d, %v)", n, err)
	}
}

func TestMigrationCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Open(ctx, Options{Path: filepath.Join(t.TempDir(), "c.db"), Migrations: history})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Open with cancelled context = %v, want context.Canceled", err)
	}
}
