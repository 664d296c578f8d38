package plugin

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
	"github.com/aunsorm/aunsorm/sdk/store"
	"github.com/aunsorm/aunsorm/sdk/store/pgtest"
)

var pg pgtest.Lazy

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

var notesSchema = []store.Migration{{Version: 1, Name: "notes", Up: `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`}}

func TestOpenStore(t *testing.T) {
	// A port nothing listens on, for the unreachable server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name string
		env  func(t *testing.T) *Env
		want error
	}{
		{"ok/sqlite-under-data-dir", func(t *testing.T) *Env { return &Env{InstanceName: "notes", DataDir: t.TempDir()} }, nil},
		{"ok/postgres-own-schema", func(t *testing.T) *Env {
			dsn := pg.Get(t).NewDatabase(t)
			return (&Env{InstanceName: "my-notes"}).WithStorage(Storage{Driver: store.DriverPostgres, DSN: dsn, MaxConns: 2})
		}, nil},
		{"fail/validate-only", func(t *testing.T) *Env { return &Env{ValidateOnly: true, DataDir: t.TempDir()} }, ErrNoStore},
		{"fail/no-data-dir", func(t *testing.T) *Env { return &Env{InstanceName: "x"} }, ErrNoStore},
		{"fail/postgres-unreachable", func(t *testing.T) *Env {
			return (&Env{InstanceName: "x"}).WithStorage(Storage{Driver: store.DriverPostgres, DSN: "postgres://u:pw@" + closed + "/db?connect_timeout=2"})
		}, store.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env(t)
			db, err := env.OpenStore(t.Context(), notesSchema)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("OpenStore = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenStore: %v", err)
			}
			defer db.Close()
			if _, err := db.SQL().ExecContext(t.Context(), db.Rebind(`INSERT INTO notes (id, body) VALUES (?, ?)`), 1, "x"); err != nil {
				t.Fatalf("insert: %v", err)
			}
			switch db.Driver() {
			case store.DriverSQLite:
				if _, err := os.Stat(filepath.Join(env.DataDir, StoreFile)); err != nil {
					t.Errorf("store file: %v", err)
				}
			case store.DriverPostgres:
				var schema string
				if err := db.SQL().QueryRowContext(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil || schema != "plugin_my_notes" {
					t.Errorf("schema = %q, %v; want plugin_my_notes", schema, err)
				}
			}
		})
	}
}

func TestStorageProtoRoundTrip(t *testing.T) {
	in := Storage{Driver: store.DriverPostgres, DSN: "postgres://db/x", Schema: "plugin_a", MaxConns: 7}
	req := &pluginv1.ConfigureRequest{}
	in.ToProto(req)
	if got := storageFromProto(req); got != in {
		t.Errorf("round trip = %+v, want %+v", got, in)
	}
}
