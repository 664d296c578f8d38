package audit

import (
	"crypto/sha256"
	"encoding/binary"
)

// hashDomain opens every record encoding; a new encoding gets a new version.
const hashDomain = "aunsorm/audit/v1"

// Record is an Event as stored in the log.
type Record struct {
	// Seq is the record's position in the log, starting at 1.
	Seq uint64
	Event
	// PrevHash is the Hash of the record Seq-1, or 32 zero bytes for the
	// first record.
	PrevHash [32]byte
	// Hash is ComputeHash of this record.
	Hash [32]byte
}

// ComputeHash returns SHA-256 over the canonical encoding of r's Seq, Event
// and PrevHash, as documented in the package comment. It ignores r.Hash, so a
// verifier compares the result with it. The Event must be in stored form (as
// returned by Append, List or Head).
func (r Record) ComputeHash() [32]byte {
	return sha256.Sum256(r.encode())
}

// encode returns the canonical encoding hashed by ComputeHash.
func (r Record) encode() []byte {
	n := 4*6 + 8*2 + len(hashDomain) + len(r.Source) + len(r.Action) +
		len(r.Subject) + len(r.Outcome) + len(r.Details) + len(r.PrevHash)
	b := make([]byte, 0, n)
	b = appendString(b, hashDomain)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = appendString(b, r.Source)
	b = appendString(b, r.Action)
	b = appendString(b, r.Subject)
	b = appendString(b, r.Outcome)
	b = appendString(b, string(r.Details))
	b = append(b, r.PrevHash[:]...)
	return b
}

// appendString appends s prefixed by its length as a big-endian uint32. The
// fields are bounded far below 4 GiB by validation.
func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
