package plugin

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
	"github.com/aunsorm/aunsorm/sdk/store"
)

// StoreFile is the SQLite file of a plugin's store, under its data
// directory, when the daemon's storage is the default.
const StoreFile = "store.db"

// Storage is where a plugin instance's store lives, as the daemon's
// `storage` block says: SQLite under the data directory by default, or a
// schema of its own in a PostgreSQL database shared by several daemons.
type Storage struct {
	// Driver is store.DriverSQLite (or empty) or store.DriverPostgres.
	Driver string
	// DSN is the PostgreSQL connection string. It holds a password: never
	// log it (store.RedactDSN masks it).
	DSN string
	// Schema is the instance's PostgreSQL schema (store.SchemaName).
	Schema string
	// MaxConns caps the store's pool (0: store.DefaultMaxConns).
	MaxConns int
}

// storageFromProto reads the storage fields of a Configure request.
func storageFromProto(req *pluginv1.ConfigureRequest) Storage {
	return Storage{Driver: req.StorageDriver, DSN: req.StorageDsn, Schema: req.StorageSchema, MaxConns: int(req.StorageMaxConns)}
}

// ToProto fills the storage fields of a Configure request; the daemon
// calls it.
func (s Storage) ToProto(req *pluginv1.ConfigureRequest) {
	req.StorageDriver, req.StorageDsn, req.StorageSchema, req.StorageMaxConns = s.Driver, s.DSN, s.Schema, int32(s.MaxConns)
}

// WithStorage returns a copy of env whose OpenStore opens s; tests and
// harnesses that build an Env themselves use it.
func (e Env) WithStorage(s Storage) *Env {
	e.storage = s
	return &e
}

// OpenStore opens the plugin's store, applying migrations (the plugin's
// schema history, oldest first). Where it lives is the operator's choice,
// made once for the daemon: a SQLite file in the data directory by default,
// or the instance's own schema in the shared PostgreSQL database, migrated
// once under an advisory lock however many daemons start together. A plugin
// never sees a DSN. Call it from Configure (not when env.ValidateOnly) and
// Close the store from the plugin's Close.
//
// With PostgreSQL, OpenStore fails with store.ErrUnavailable when the
// server cannot be reached; the store reconnects by itself afterwards,
// and a HealthChecker that calls the store's Ping reports outages.
func (e *Env) OpenStore(ctx context.Context, migrations []store.Migration) (*store.DB, error) {
	if e.ValidateOnly {
		return nil, fmt.Errorf("%w: validate-only", ErrNoStore)
	}
	opts := store.Options{Migrations: migrations}
	switch e.storage.Driver {
	case "", store.DriverSQLite:
		if e.DataDir == "" {
			return nil, fmt.Errorf("%w: no data directory", ErrNoStore)
		}
		opts.Path = filepath.Join(e.DataDir, StoreFile)
	default:
		schema := e.storage.Schema
		if schema == "" {
			schema = store.SchemaName(e.InstanceName)
		}
		opts.Driver, opts.DSN, opts.Schema, opts.MaxConns = e.storage.Driver, e.storage.DSN, schema, e.storage.MaxConns
	}
	db, err := store.Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("plugin: open store: %w", err)
	}
	return db, nil
}
