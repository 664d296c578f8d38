package config

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/aunsorm/aunsorm/sdk/store"
)

// Storage drivers of the `storage` block.
const (
	StorageSQLite   = store.DriverSQLite   // embedded, one file per user under data_dir (the default)
	StoragePostgres = store.DriverPostgres // one PostgreSQL database shared by several daemons
)

// EnvStorageDSN sets storage.dsn; it keeps the password out of the file.
const EnvStorageDSN = "AUNSORM_STORAGE_DSN"

// MaxStorageConns bounds storage.max_conns.
const MaxStorageConns = 1000

// Storage is the `storage { ... }` block: where the daemon's audit log and
// every plugin's store live.
type Storage struct {
	// Driver is StorageSQLite (default) or StoragePostgres.
	Driver string
	// DSN is the PostgreSQL connection string (postgres only). It holds a
	// password: Redacted and every error show it through store.RedactDSN.
	DSN string
	// MaxConns caps each pool (the daemon's audit log, and each plugin's
	// store) at this many connections; store.DefaultMaxConns when zero.
	MaxConns int
}

// IsPostgres reports whether the storage is a PostgreSQL server.
func (s Storage) IsPostgres() bool { return s.Driver == StoragePostgres }

// RedactedDSN returns the DSN with its password masked.
func (s Storage) RedactedDSN() string { return store.RedactDSN(s.DSN) }

var storageSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "driver"}, {Name: "dsn"}, {Name: "max_conns"}},
}

func (p *parser) decodeStorage(b *hcl.Block) {
	content, diags := b.Body.Content(storageSchema)
	p.diags = append(p.diags, diags...)
	s := &p.cfg.Storage
	a := content.Attributes
	p.str(a, "driver", "storage.driver", "string", &s.Driver)
	p.str(a, "dsn", "storage.dsn", "string", &s.DSN)
	var n int64
	if p.integer(a, "max_conns", "storage.max_conns", &n) {
		if n < 0 || n > MaxStorageConns {
			p.errAt("storage.max_conns", p.block("storage"), "Invalid max_conns",
				fmt.Sprintf("max_conns must be between 1 and %d (0 or unset: %d).", MaxStorageConns, store.DefaultMaxConns))
		} else {
			s.MaxConns = int(n)
		}
	}
}

// envStorage applies AUNSORM_STORAGE_DSN. A DSN from the environment
// selects postgres when the file names no driver.
func (p *parser) envStorage() {
	if p.envString(EnvStorageDSN, "storage.dsn", &p.cfg.Storage.DSN) {
		if _, set := p.from["storage.driver"]; !set {
			p.cfg.Storage.Driver = StoragePostgres
			p.from["storage.driver"] = source{env: EnvStorageDSN}
		}
	}
}

// validateStorage checks the block. Error messages never quote the DSN.
func (p *parser) validateStorage() {
	s := p.cfg.Storage
	blk := p.block("storage")
	switch s.Driver {
	case StorageSQLite:
		if s.DSN != "" {
			p.errAt("storage.dsn", blk, "Unexpected dsn", `dsn is only used with driver = "postgres"; sqlite keeps its files under data_dir.`)
		}
	case StoragePostgres:
		if s.DSN == "" {
			p.errAt("storage.driver", blk, "Missing dsn",
				`driver = "postgres" needs dsn (or the `+EnvStorageDSN+` environment variable), e.g. "postgres://aunsorm@db.internal:5432/aunsorm?sslmode=verify-full".`)
		} else if err := store.CheckDSN(s.DSN); err != nil {
			p.errAt("storage.dsn", blk, "Invalid dsn", err.Error())
		}
	default:
		p.errAt("storage.driver", blk, "Invalid storage driver",
			fmt.Sprintf("driver must be %q or %q.", StorageSQLite, StoragePostgres))
	}
}

// AuditPath is the SQLite file of the daemon's audit log.
func (c *Config) AuditPath() string { return filepath.Join(c.DataDir, "audit", "audit.db") }

// AuditSchema is the PostgreSQL schema of the daemon's audit log, shared by
// every daemon on the database.
const AuditSchema = "aunsorm_audit"

func (s Storage) redacted() map[string]any {
	m := map[string]any{"driver": s.Driver}
	if s.IsPostgres() {
		m["dsn"] = s.RedactedDSN()
		conns := s.MaxConns
		if conns == 0 {
			conns = store.DefaultMaxConns
		}
		m["max_conns"] = conns
	}
	return m
}
