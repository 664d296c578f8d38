// Package store is the embedded storage that stateful plugins and the daemon
// build on: a *sql.DB with the durability settings, the write discipline and
// the schema migrations already taken care of.
//
// The default, and the one to pick unless you run several daemons against one
// database, is SQLite through the pure-Go driver modernc.org/sqlite: nothing to
// install, one file under the plugin's data directory. Open configures every
// connection of the pool with
//
//   - journal_mode=WAL, so readers never block the writer;
//   - synchronous=FULL, so a transaction that Tx reported as committed has been
//     written to stable storage and survives kill -9 or a power cut;
//   - foreign_keys=ON;
//   - busy_timeout (Options.BusyTimeout, 5s by default);
//   - BEGIN IMMEDIATE for every transaction, so a transaction takes the write
//     lock when it starts and never fails half-way with SQLITE_BUSY when it
//     upgrades from reading to writing.
//
// On top of that, Tx serialises the writers of one process behind a mutex, so
// concurrent goroutines queue in Go instead of spinning in SQLite's busy
// handler. Writes should go through Tx; reads may use SQL() directly.
//
// The database file and its -wal and -shm companions are created with mode
// 0600, and the parent directory (if missing) with mode 0700.
//
// # Migrations
//
// Options.Migrations is the schema history of the caller, oldest first, with
// strictly increasing versions. Open applies the ones not yet recorded, each in
// its own transaction, and records it in the schema_migrations table.
//
// Migrations follow the expand-then-contract rule: during a hot swap the old
// and the new release run side by side on one database, and a rollback puts
// the old release back on the schema the new one migrated. So each migration
// must leave a schema the previous release still works with (add a table, a
// column with a default, an index; drop or rename only in a later release,
// once nothing reads the old shape), and Open accepts a database exactly one
// migration ahead of the caller's newest, applying nothing. A database two or
// more migrations ahead was written by a release the caller cannot be
// compatible with and is refused with ErrSchemaTooNew. A caller several
// migrations ahead of the database applies them all, as usual.
//
// # PostgreSQL
//
// With Options.Driver set to "postgres" (DriverPostgres) the same Open, Tx,
// migrations and helpers run on a PostgreSQL server through jackc/pgx v5
// behind database/sql; pick it when several daemons share one database
// (docs/operations.md). Options.DSN names the server, Options.Schema the
// schema the caller lives in (created when missing, the search_path of
// every connection; a plugin gets one per instance, see SchemaName), and
// Options.MaxConns caps the pool. Open fails with ErrUnavailable when the
// server cannot be reached or refuses the credentials; afterwards the pool
// reconnects by itself, and Ping tells whether the server answers. Migrations
// run under a PostgreSQL advisory lock named after the schema, so daemons
// starting together apply each one exactly once. A DSN holds a password:
// RedactDSN masks it for display.
//
// Queries are written with ? placeholders; DB.Rebind turns them into $1,
// $2, … for PostgreSQL. Portable DDL uses INTEGER or BIGINT (PostgreSQL's
// INTEGER is 32 bits; SQLite's is 64), TEXT, and BYTEA for bytes (SQLite
// stores a []byte as a blob in a BYTEA column).
//
// # Isolation
//
// With SQLite every Tx is serialisable: one writer at a time. With
// PostgreSQL, Tx runs at READ COMMITTED, and concurrent transactions of
// other daemons interleave with it. The helpers are written so that this is
// enough:
//
//   - UseOnce/UseOnceTx (replay caches) is one INSERT … ON CONFLICT DO
//     NOTHING: exactly one of any number of concurrent uses succeeds.
//   - Next/NextTx (monotonic counters) is one upsert … RETURNING under the
//     counter's row lock: no value is handed out twice.
//   - Purge deletes in batches, each its own short transaction.
//   - LockTx serialises read-decide-write sequences across processes with a
//     transaction-level advisory lock (a no-op on SQLite).
//   - Lease is one conditional upsert per Acquire, and Guard reads the lease
//     row FOR SHARE so a takeover cannot commit under a guarded write.
package store
