package store

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/plugin"
)

var notesSchema = []Migration{{Version: 1, Name: "notes", Up: `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`}}

func TestOpenPlugin(t *testing.T) {
	// A port nothing listens on, for the unreachable server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name string
		env  func(t *testing.T) *plugin.Env
		want error
	}{
		{"ok/sqlite-under-data-dir", func(t *testing.T) *plugin.Env { return &plugin.Env{InstanceName: "notes", DataDir: t.TempDir()} }, nil},
		{"ok/postgres-own-schema", func(t *testing.T) *plugin.Env {
			dsn := pg.Get(t).NewDatabase(t)
			return (&plugin.Env{InstanceName: "my-notes"}).WithStorage(plugin.Storage{Driver: DriverPostgres, DSN: dsn, MaxConns: 2})
		}, nil},
		{"fail/validate-only", func(t *testing.T) *plugin.Env { return &plugin.Env{ValidateOnly: true, DataDir: t.TempDir()} }, plugin.ErrNoStore},
		{"fail/no-data-dir", func(t *testing.T) *plugin.Env { return &plugin.Env{InstanceName: "x"} }, plugin.ErrNoStore},
		{"fail/postgres-unreachable", func(t *testing.T) *plugin.Env {
			return (&plugin.Env{InstanceName: "x"}).WithStorage(plugin.Storage{Driver: DriverPostgres, DSN: "postgres://u:pw@" + closed + "/db?connect_timeout=2"})
		}, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env(t)
			db, err := OpenPlugin(t.Context(), env, notesSchema)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("OpenPlugin = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenPlugin: %v", err)
			}
			defer db.Close()
			if _, err := db.SQL().ExecContext(t.Context(), db.Rebind(`INSERT INTO notes (id, body) VALUES (?, ?)`), 1, "x"); err != nil {
				t.Fatalf("insert: %v", err)
			}
			switch db.Driver() {
			case DriverSQLite:
				if _, err := os.Stat(filepath.Join(env.DataDir, plugin.StoreFile)); err != nil {
					t.Errorf("store file: %v", err)
				}
			case DriverPostgres:
				var schema string
				if err := db.SQL().QueryRowContext(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil || schema != "plugin_my_notes" {
					t.Errorf("schema = %q, %v; want plugin_my_notes", schema, err)
				}
			}
		})
	}
}
