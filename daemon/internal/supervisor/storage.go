package supervisor

import (
	"slices"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/sdk/plugin"
	"github.com/aunsorm/aunsorm/sdk/pluginhost"
	"github.com/aunsorm/aunsorm/sdk/store"
)

// StorageFor is the storage plugin instance name gets: nothing (SQLite in
// its data directory) by default, or its own schema of the shared
// PostgreSQL database.
func StorageFor(s config.Storage, name string) plugin.Storage {
	if !s.IsPostgres() {
		return plugin.Storage{}
	}
	return plugin.Storage{Driver: store.DriverPostgres, DSN: s.DSN, Schema: store.SchemaName(name), MaxConns: s.MaxConns}
}

// sandboxStorage lets a confined plugin reach the PostgreSQL server: its
// TCP ports, or the directory of its unix socket.
func sandboxStorage(lc *pluginhost.LaunchConfig, s config.Storage) error {
	if !s.IsPostgres() || lc.Sandbox == nil {
		return nil
	}
	ports, dirs, err := store.DSNEndpoints(s.DSN)
	if err != nil {
		return err
	}
	lc.Sandbox.ConnectTCP = append(slices.Clip(lc.Sandbox.ConnectTCP), ports...)
	lc.Sandbox.Write = append(slices.Clip(lc.Sandbox.Write), dirs...)
	return nil
}
