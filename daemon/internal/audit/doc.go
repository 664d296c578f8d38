// Package audit is the daemon's durable, hash-chained audit log.
//
// Plugins (through the broker's Audit call) and the daemon itself (plugin
// start, crash, restart, swap and rollback, configuration reloads) append
// Events. Each is stored as a Record with a sequence number, starting at 1,
// and two SHA-256 hashes: PrevHash, the Hash of the record before it (32 zero
// bytes for the first), and Hash, computed over the record's own contents and
// PrevHash. Changing, inserting or removing a record therefore breaks the
// chain at that point, which Log.Verify reports. A chain alone cannot reveal
// that records were cut off the end; comparing Head with a head published
// elsewhere (the Merkle tree heads of the design) does.
//
// Append returns only once the record is committed to disk (SQLite in WAL
// mode with synchronous=FULL, through sdk/store). Appends are serialised, so
// the chain stays linear however many goroutines append.
//
// # Record hash
//
// Hash is SHA-256 over this encoding, where u32 and u64 are big-endian
// unsigned integers and str(x) is u32(len(x)) followed by the bytes of x:
//
//	str("aunsorm/audit/v1")        domain separation and encoding version
//	u64(Seq)
//	u64(Time as Unix nanoseconds)  the int64 in two's complement
//	str(Source)
//	str(Action)
//	str(Subject)
//	str(Outcome)
//	str(Details)                   compact JSON as stored; empty when none
//	PrevHash                       32 bytes
//
// Every variable-length field is length-prefixed, so no two different records
// share an encoding. Record.ComputeHash implements it; testdata/hash.golden
// pins it, since changing it would make every existing log fail to verify.
//
// # Validation
//
// Append rejects with ErrInvalidEvent, writing nothing, an event whose Source
// or Action is empty, longer than MaxNameLen bytes, not printable UTF-8 or
// padded with spaces; whose Subject or Outcome is longer than MaxTextLen bytes
// or not printable UTF-8; whose Details are longer than MaxDetailsLen bytes,
// not valid UTF-8, or not a single JSON object; or whose Time cannot be
// expressed in Unix nanoseconds (outside the years 1678 to 2262). A zero Time
// is replaced by the Log's clock (WithClock): the daemon passes its attested
// clock, so its own records and the plugins' are stamped with attested time.
//
// # Reading
//
// Query pages through the records with filters (source, action or a family
// of actions, time range). VerifyPrefix checks only the records appended
// since its last call, for status on every page; Verify re-reads the whole
// chain. Details are stored in compact form (JSON
// whitespace removed, key order kept).
package audit
