package plugintest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on audit events, the same the daemon's audit log enforces.
const (
	// MaxAuditNameLen bounds an event's action.
	MaxAuditNameLen = 128
	// MaxAuditTextLen bounds an event's subject and outcome.
	MaxAuditTextLen = 256
	// MaxAuditDetailsLen bounds an event's details (a JSON object).
	MaxAuditDetailsLen = 16 << 10
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

// checkAuditEvent applies the daemon's rules: action non-empty, at most
// MaxAuditNameLen bytes, printable and not padded; subject and outcome at
// most MaxAuditTextLen printable bytes; details empty or one JSON object of
// at most MaxAuditDetailsLen bytes. It returns the compacted details.
func checkAuditEvent(action, subject, outcome string, details []byte) (json.RawMessage, error) {
	switch {
	case action == "":
		return nil, fmt.Errorf("%w: action is empty", ErrInvalidAuditEvent)
	case len(action) > MaxAuditNameLen:
		return nil, fmt.Errorf("%w: action is longer than %d bytes", ErrInvalidAuditEvent, MaxAuditNameLen)
	case !printable(action):
		return nil, fmt.Errorf("%w: action is not printable utf-8", ErrInvalidAuditEvent)
	case strings.TrimSpace(action) != action:
		return nil, fmt.Errorf("%w: action has leading or trailing spaces", ErrInvalidAuditEvent)
	}
	for _, f := range []struct{ name, v string }{{"subject", subject}, {"outcome", outcome}} {
		if len(f.v) > MaxAuditTextLen {
			return nil, fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidAuditEvent, f.name, MaxAuditTextLen)
		}
		if !printable(f.v) {
			return nil, fmt.Errorf("%w: %s is not printable utf-8", ErrInvalidAuditEvent, f.name)
		}
	}
	if len(details) == 0 {
		return nil, nil
	}
	switch {
	case len(details) > MaxAuditDetailsLen:
		return nil, fmt.Errorf("%w: details are longer than %d bytes", ErrInvalidAuditEvent, MaxAuditDetailsLen)
	case !utf8.Valid(details) || !json.Valid(details):
		return nil, fmt.Errorf("%w: details are not valid json", ErrInvalidAuditEvent)
	case bytes.TrimLeft(details, " \t\r\n")[0] != '{':
		return nil, fmt.Errorf("%w: details are not a json object", ErrInvalidAuditEvent)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, details); err != nil {
		return nil, fmt.Errorf("%w: details: %w", ErrInvalidAuditEvent, err)
	}
	return json.RawMessage(b.Bytes()), nil
}

// printable reports whether s is valid UTF-8 of printable runes (no control
// or format characters, no line breaks).
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
