package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/aunsorm/aunsorm/sdk/store"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "store-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// The plugin's schema history, oldest first. Never edit a released
	// migration: append a new version instead.
	migrations := []store.Migration{
		{Version: 1, Name: "notes", Up: `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`},
	}
	db, err := store.Open(ctx, store.Options{
		Path:       filepath.Join(dir, "plugin", "state.db"),
		Migrations: migrations,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// Writes go through Tx: committed and durable when it returns nil.
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO notes (body) VALUES (?)`), "hello")
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	var body string
	if err := db.SQL().QueryRowContext(ctx, db.Rebind(`SELECT body FROM notes WHERE id = ?`), 1).Scan(&body); err != nil {
		log.Fatal(err)
	}
	fmt.Println(db.Driver(), body)
	// Output: sqlite hello
}

func ExampleDB_UseOnce() {
	dir, err := os.MkdirTemp("", "store-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, "state.db")})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// A replay cache: the first use of a token id wins, on every daemon
	// sharing the database; keep it until the token would expire anyway.
	expires := time.Unix(1_700_000_600, 0)
	fmt.Println(db.UseOnce(ctx, "jti", "token-1", expires))
	fmt.Println(errors.Is(db.UseOnce(ctx, "jti", "token-1", expires), store.ErrAlreadyUsed))
	// Output:
	// <nil>
	// true
}

func ExampleDB_NewLease() {
	dir, err := os.MkdirTemp("", "store-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, "state.db")})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// In a plugin, Now is env.Clock.Now (attested time) and Holder is
	// drawn from env.Rand at start.
	now := func() (time.Time, error) { return time.Unix(1_700_000_000, 0), nil }
	lease, err := db.NewLease(store.LeaseOptions{Name: "crl-regeneration", Holder: "daemon-a", TTL: 30 * time.Second, Now: now})
	if err != nil {
		log.Fatal(err)
	}
	token, err := lease.Acquire(ctx) // call again every TTL/3 to renew
	if err != nil {
		log.Fatal(err) // store.ErrLeaseHeld: another daemon runs the job
	}
	// The guarded work checks the fencing token in its own transaction.
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		if err := lease.Guard(ctx, tx, token); err != nil {
			return err
		}
		_, err := db.NextTx(ctx, tx, "crl-number")
		return err
	})
	fmt.Println(token, err)
	// Output: 1 <nil>
}
