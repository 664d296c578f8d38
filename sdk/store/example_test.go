package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

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
