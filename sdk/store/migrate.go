package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// migrationsTable records applied migrations. The DDL is portable between
// SQLite and PostgreSQL.
const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`

// validateMigrations checks a migration list before anything touches disk.
func validateMigrations(ms []Migration) error {
	prev := 0
	for i, m := range ms {
		switch {
		case m.Version < 1:
			return fmt.Errorf("%w: migration %d has version %d, want at least 1", ErrInvalidMigration, i, m.Version)
		case m.Version <= prev:
			return fmt.Errorf("%w: version %d follows version %d, want strictly increasing", ErrInvalidMigration, m.Version, prev)
		case strings.TrimSpace(m.Name) == "":
			return fmt.Errorf("%w: version %d has no name", ErrInvalidMigration, m.Version)
		case strings.TrimSpace(m.Up) == "":
			return fmt.Errorf("%w: version %d has no sql", ErrInvalidMigration, m.Version)
		}
		prev = m.Version
	}
	return nil
}

// migrate applies the migrations newer than the newest recorded one, each in
// its own transaction.
//
// It follows the expand/contract rule: a store whose history runs exactly
// one migration past the newest one of ms (written by the next release,
// during a swap to it or after a rollback from it) is used as it is, with
// nothing applied; a store two or more migrations ahead is refused with
// ErrSchemaTooNew.
func (db *DB) migrate(ctx context.Context, ms []Migration) error {
	release, err := db.dialect.lockMigrations(ctx, db.db, db.schema)
	if err != nil {
		return err
	}
	defer release()
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		for _, ddl := range append([]string{migrationsTable}, helperTables...) {
			if _, err := tx.ExecContext(ctx, ddl); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	recorded, err := db.recordedVersions(ctx)
	if err != nil {
		return err
	}
	newest := 0
	if len(recorded) > 0 {
		newest = recorded[len(recorded)-1]
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].Version
	}
	ahead := aheadOf(recorded, known)
	if len(ahead) > 1 {
		return fmt.Errorf("%w: database is at version %d, %d migrations past version %d, the newest this release knows; at most one is allowed", ErrSchemaTooNew, newest, len(ahead), known)
	}
	if err := checkHistory(recorded[:len(recorded)-len(ahead)], ms, newest); err != nil {
		return err
	}
	for _, m := range ms {
		if m.Version <= newest {
			continue
		}
		if err := db.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// aheadOf returns the tail of recorded (ascending) above known.
func aheadOf(recorded []int, known int) []int {
	i := len(recorded)
	for i > 0 && recorded[i-1] > known {
		i--
	}
	return recorded[i:]
}

// checkHistory verifies that the recorded versions are exactly the known
// versions up to the newest recorded one.
func checkHistory(recorded []int, ms []Migration, newest int) error {
	known := make(map[int]bool, len(ms))
	for _, m := range ms {
		known[m.Version] = true
	}
	for _, v := range recorded {
		if !known[v] {
			return fmt.Errorf("%w: recorded version %d is not a known migration", ErrMigrationMismatch, v)
		}
	}
	applied := make(map[int]bool, len(recorded))
	for _, v := range recorded {
		applied[v] = true
	}
	for _, m := range ms {
		if m.Version < newest && !applied[m.Version] {
			return fmt.Errorf("%w: version %d (%s) is older than recorded version %d but was never applied", ErrMigrationMismatch, m.Version, m.Name, newest)
		}
	}
	return nil
}

// recordedVersions lists the applied versions, ascending.
func (db *DB) recordedVersions(ctx context.Context) ([]int, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: read schema_migrations: %w", err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	return vs, nil
}

// apply runs one migration and records it, unless another process recorded
// it in the meantime.
func (db *DB) apply(ctx context.Context, m Migration) error {
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, m.Up); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			db.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano))
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: version %d (%s): %w", ErrMigrationFailed, m.Version, m.Name, err)
	}
	return nil
}
