package plugin

import (
	"github.com/aunsorm/aunsorm/sdk/proto/pluginv1"
)

// StoreFile is the SQLite file of a plugin's store, under its data
// directory, when the daemon's storage is the default.
const StoreFile = "store.db"

// Storage is where a plugin instance's store lives, as the daemon's
// `storage` block says: SQLite under the data directory by default, or a
// schema of its own in a PostgreSQL database shared by several daemons.
type Storage struct {
	// Driver is "sqlite" (or empty) or "postgres" (store.DriverSQLite,
	// store.DriverPostgres).
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

// WithStorage returns a copy of env whose store (store.OpenPlugin) is s; tests and
// harnesses that build an Env themselves use it.
func (e Env) WithStorage(s Storage) *Env {
	e.storage = s
	return &e
}

// Storage is where the daemon put this instance's store; store.OpenPlugin
// opens it. Keeping the opener in sdk/store means a plugin that keeps no
// state links no database driver.
func (e *Env) Storage() Storage { return e.storage }
