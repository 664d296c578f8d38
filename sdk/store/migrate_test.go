package store

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// history is a three-step schema history; tests take prefixes of it.
var history = []Migration{
	{Version: 1, Name: "items", Up: `CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`},
	{Version: 2, Name: "tags", Up: `CREATE TABLE tags (item_id INTEGER NOT NULL REFERENCES items(id), tag TEXT NOT NULL);
		CREATE INDEX tags_item ON tags (item_id);`},
	{Version: 5, Name: "items-created", Up: `ALTER TABLE items ADD COLUMN created INTEGER NOT NULL DEFAULT 0`},
}

// versions returns the recorded versions of the target's database after
// opening it with ms.
func versions(t *testing.T, tg target, ms []Migration) []int {
	t.Helper()
	db, err := Open(t.Context(), tg.opts(ms))
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
		steps [][]Migration // opened in turn on the same database
		want  []int
	}{
		{"ok/none", [][]Migration{nil}, nil},
		{"ok/all-at-once", [][]Migration{history}, []int{1, 2, 5}},
		{"ok/reopen-is-idempotent", [][]Migration{history, history, history}, []int{1, 2, 5}},
		{"ok/incremental", [][]Migration{history[:1], history[:2], history}, []int{1, 2, 5}},
		{"ok/same", [][]Migration{history[:2], history[:2]}, []int{1, 2}},
		// The previous release starts on the store the next one migrated
		// (both run during a swap, or the swap is rolled back): one
		// step ahead is used as it is, nothing applied or undone.
		{"ok/one-behind-rollback", [][]Migration{history, history[:2]}, []int{1, 2, 5}},
		{"ok/one-behind-no-migrations", [][]Migration{history[:1], nil}, []int{1}},
		{"ok/rollback-then-forward", [][]Migration{history, history[:2], history}, []int{1, 2, 5}},
		// A binary several steps ahead migrates the store as far as it knows.
		{"ok/two-ahead-of-store", [][]Migration{history[:1], history}, []int{1, 2, 5}},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					tg := e.target(t)
					var got []int
					for _, ms := range tt.steps {
						got = versions(t, tg, ms)
					}
					if !equalInts(got, tt.want) {
						t.Errorf("versions = %v, want %v", got, tt.want)
					}
				})
			}
		})
	}
}

func TestMigrationsAppliedOnce(t *testing.T) {
	// A migration that is not idempotent fails if it runs twice; the counter
	// table proves it ran exactly once across reopens.
	ms := []Migration{{1, "counter", `CREATE TABLE runs (n INTEGER); INSERT INTO runs VALUES (1);`}}
	forEachEngine(t, func(t *testing.T, tg target) {
		for range 3 {
			db, err := Open(t.Context(), tg.opts(ms))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := count(t, db, "runs"); got != 1 {
				t.Errorf("migration ran %d times, want 1", got)
			}
			_ = db.Close()
		}
	})
}

func TestMigrationsConcurrentOpen(t *testing.T) {
	// Several processes starting together on one database: the migration
	// lock (PostgreSQL's advisory lock, SQLite's write lock) applies each
	// migration exactly once.
	ms := []Migration{{1, "counter", `CREATE TABLE runs (n INTEGER); INSERT INTO runs VALUES (1);`}}
	forEachEngine(t, func(t *testing.T, tg target) {
		const n = 4
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				db, err := Open(t.Context(), tg.opts(ms))
				if err != nil {
					errs <- err
					return
				}
				_ = db.Close()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Open: %v", err)
		}
		db := tg.open(t, ms)
		if got := count(t, db, "runs"); got != 1 {
			t.Errorf("migration ran %d times, want 1", got)
		}
	})
}

func TestMigrationRefusals(t *testing.T) {
	tests := []struct {
		name  string
		first []Migration
		then  []Migration
		want  error
	}{
		{"fail/two-ahead", history, history[:1], ErrSchemaTooNew},
		{"fail/two-ahead-no-migrations", history[:2], nil, ErrSchemaTooNew},
		{"fail/one-ahead-but-gap", []Migration{history[0], history[2]}, history[:2], ErrMigrationMismatch},
		{"fail/one-ahead-unknown-below", history, []Migration{history[0], {4, "other", "SELECT 1"}}, ErrMigrationMismatch},
		{"fail/unknown-recorded-version", []Migration{history[0], {3, "other", "SELECT 1"}}, history, ErrMigrationMismatch},
		{"fail/skipped-older-version", []Migration{history[0], history[2]}, history, ErrMigrationMismatch},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					tg := e.target(t)
					versions(t, tg, tt.first)
					_, err := Open(t.Context(), tg.opts(tt.then))
					if !errors.Is(err, tt.want) {
						t.Fatalf("Open error = %v, want %v", err, tt.want)
					}
					// The refusal changed nothing: the first history still opens.
					versions(t, tg, tt.first)
				})
			}
		})
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	bad := append(append([]Migration(nil), history[:1]...),
		Migration{Version: 2, Name: "broken", Up: `CREATE TABLE half (id INTEGER); INSERT INTO nowhere VALUES (1);`})
	forEachEngine(t, func(t *testing.T, tg target) {
		_, err := Open(t.Context(), tg.opts(bad))
		if !errors.Is(err, ErrMigrationFailed) {
			t.Fatalf("Open error = %v, want ErrMigrationFailed", err)
		}
		// Version 1 was applied and recorded; version 2 left nothing behind.
		db := tg.open(t, history[:1])
		vs, err := db.recordedVersions(t.Context())
		if err != nil || !equalInts(vs, []int{1}) {
			t.Errorf("versions = %v, %v; want [1]", vs, err)
		}
		if tableExists(t, db, "half") {
			t.Error("table of failed migration exists")
		}
		if !tableExists(t, db, "items") {
			t.Error("table of migration 1 missing")
		}
	})
}

func TestMigrationCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	forEachEngine(t, func(t *testing.T, tg target) {
		_, err := Open(ctx, tg.opts(history))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Open with cancelled context = %v, want context.Canceled", err)
		}
	})
}
