package store

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// OpenPlugin opens a plugin's store, applying migrations (the plugin's
// schema history, oldest first). Where it lives is the operator's choice,
// made once for the daemon and handed to the plugin in env: a SQLite file
// (plugin.StoreFile) in the data directory by default, or the instance's
// own schema in the shared PostgreSQL database, migrated once under an
// advisory lock however many daemons start together. A plugin never sees
// a DSN. Call it from Configure (not when env.ValidateOnly: that is
// plugin.ErrNoStore) and Close the store from the plugin's Close.
//
// With PostgreSQL, OpenPlugin fails with ErrUnavailable when the server
// cannot be reached; the store reconnects by itself afterwards, and a
// HealthChecker that calls the store's Ping reports outages.
func OpenPlugin(ctx context.Context, env *plugin.Env, migrations []Migration) (*DB, error) {
	if env.ValidateOnly {
		return nil, fmt.Errorf("%w: validate-only", plugin.ErrNoStore)
	}
	opts := Options{Migrations: migrations}
	loc := env.Storage()
	switch loc.Driver {
	case "", DriverSQLite:
		if env.DataDir == "" {
			return nil, fmt.Errorf("%w: no data directory", plugin.ErrNoStore)
		}
		opts.Path = filepath.Join(env.DataDir, plugin.StoreFile)
	default:
		schema := loc.Schema
		if schema == "" {
			schema = SchemaName(env.InstanceName)
		}
		opts.Driver, opts.DSN, opts.Schema, opts.MaxConns = loc.Driver, loc.DSN, schema, loc.MaxConns
	}
	db, err := Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("store: open the plugin's store: %w", err)
	}
	return db, nil
}
