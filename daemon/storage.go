package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aunsorm/aunsorm/daemon/internal/audit"
	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/sdk/store"
)

// storageConnectTimeout bounds the first connection to PostgreSQL at start,
// so that serve fails fast on an unreachable server.
const storageConnectTimeout = 15 * time.Second

// openAudit opens the daemon's audit log where the storage block says: the
// SQLite file under data_dir, or the shared schema of the PostgreSQL
// database. A server that cannot be reached or refuses the credentials
// stops the daemon here, before anything is served; the error shows the
// DSN with its password masked.
func openAudit(ctx context.Context, cfg *config.Config, opts ...audit.Option) (*audit.Log, error) {
	if !cfg.Storage.IsPostgres() {
		l, err := audit.Open(ctx, cfg.AuditPath(), opts...)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		return l, nil
	}
	ctx, cancel := context.WithTimeout(ctx, storageConnectTimeout)
	defer cancel()
	l, err := audit.OpenStore(ctx, store.Options{Driver: store.DriverPostgres, DSN: cfg.Storage.DSN,
		Schema: config.AuditSchema, MaxConns: cfg.Storage.MaxConns}, opts...)
	if err != nil {
		return nil, fmt.Errorf("storage (postgres %s): %w", cfg.Storage.RedactedDSN(), err)
	}
	return l, nil
}
