package plugintest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/aunsorm/aunsorm/sdk/pluginhost"
)

// Limits on audit events: the SDK's, which the daemon's audit log enforces.
const (
	// MaxAuditNameLen bounds an event's action.
	MaxAuditNameLen = pluginhost.MaxAuditNameLen
	// MaxAuditTextLen bounds an event's subject and outcome.
	MaxAuditTextLen = pluginhost.MaxAuditTextLen
	// MaxAuditDetailsLen bounds an event's details (a JSON object).
	MaxAuditDetailsLen = pluginhost.MaxAuditDetailsLen
)

// AuditRecord is one event the plugin appended through the Audit host
// service, as the test host stored it.
type AuditRecord struct {
	// Sequence numbers records from 1 in the order they were stored.
	Sequence uint64
	// Time is the test host's local time of the append.
	Time time.Time
	// Action, Subject and Outcome are the event's fields as sent.
	Action, Subject, Outcome string
	// Details is the event's details object, compacted; nil when none.
	Details json.RawMessage
	// HashHex chains the record to the previous one. It is the test host's
	// own SHA-256 chain, not the daemon's audit log format: compare it only
	// with what the plugin received.
	HashHex string
}

// auditLog is the in-memory audit recorder.
type auditLog struct {
	mu      sync.Mutex
	records []AuditRecord
	prev    [sha256.Size]byte
}

// append validates and stores an event.
func (l *auditLog) append(action, subject, outcome string, details []byte) (AuditRecord, error) {
	d, err := checkAuditEvent(action, subject, outcome, details)
	if err != nil {
		return AuditRecord{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	rec := AuditRecord{Sequence: uint64(len(l.records)) + 1, Time: time.Now().UTC(),
		Action: action, Subject: subject, Outcome: outcome, Details: d}
	h := sha256.New()
	h.Write(l.prev[:])
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], rec.Sequence)
	h.Write(seq[:])
	for _, f := range [][]byte{[]byte(action), []byte(subject), []byte(outcome), d} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	copy(l.prev[:], h.Sum(nil))
	rec.HashHex = hex.EncodeToString(l.prev[:])
	l.records = append(l.records, rec)
	return rec, nil
}

// snapshot returns a copy of the records.
func (l *auditLog) snapshot() []AuditRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]AuditRecord, len(l.records))
	copy(out, l.records)
	return out
}

// checkAuditEvent applies the daemon's rules (the SDK's checks) and
// returns the compacted details.
func checkAuditEvent(action, subject, outcome string, details []byte) (json.RawMessage, error) {
	if err := pluginhost.CheckAuditName("action", action); err != nil {
		return nil, err
	}
	if err := pluginhost.CheckAuditText("subject", subject); err != nil {
		return nil, err
	}
	if err := pluginhost.CheckAuditText("outcome", outcome); err != nil {
		return nil, err
	}
	return pluginhost.CompactAuditDetails(details)
}
