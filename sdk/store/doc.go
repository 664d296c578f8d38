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
// its own transaction, and records it in the schema_migrations table. A
// database whose recorded version is newer than every known migration (that
// is, written by a newer release) is refused with ErrSchemaTooNew rather than
// used with a schema the code does not understand.
//
// # Portability
//
// Queries are written with ? placeholders; DB.Rebind turns them into the
// placeholders of the driver in use ($1, $2, … for PostgreSQL), so the same
// queries and migrations can later run on PostgreSQL (pgx) when more than one
// daemon shares a database. Only "sqlite" is available today; Open answers
// ErrUnsupportedDriver for anything else.
package store
