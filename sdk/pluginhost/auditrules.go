package pluginhost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on the fields of an audit event (Host.Audit), in bytes. The
// daemon's audit log refuses an event over them, and so does plugintest.
const (
	// MaxAuditNameLen bounds an event's source and action.
	MaxAuditNameLen = 128
	// MaxAuditTextLen bounds an event's subject and outcome.
	MaxAuditTextLen = 256
	// MaxAuditDetailsLen bounds an event's details (one JSON object).
	MaxAuditDetailsLen = 16 << 10
)

// ErrInvalidAuditEvent is wrapped by every error of the checks below.
var ErrInvalidAuditEvent = errors.New("invalid audit event")

// CheckAuditName checks a source or action: non-empty, at most
// MaxAuditNameLen bytes, printable UTF-8, not padded with spaces.
func CheckAuditName(field, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalidAuditEvent, field)
	case len(s) > MaxAuditNameLen:
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidAuditEvent, field, MaxAuditNameLen)
	case !printable(s):
		return fmt.Errorf("%w: %s is not printable utf-8", ErrInvalidAuditEvent, field)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%w: %s has leading or trailing spaces", ErrInvalidAuditEvent, field)
	}
	return nil
}

// CheckAuditText checks a subject or outcome: at most MaxAuditTextLen bytes
// of printable UTF-8; may be empty.
func CheckAuditText(field, s string) error {
	switch {
	case len(s) > MaxAuditTextLen:
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidAuditEvent, field, MaxAuditTextLen)
	case !printable(s):
		return fmt.Errorf("%w: %s is not printable utf-8", ErrInvalidAuditEvent, field)
	}
	return nil
}

// CompactAuditDetails checks that d is empty or one JSON object of at most
// MaxAuditDetailsLen bytes, and returns it without insignificant
// whitespace (nil when empty).
func CompactAuditDetails(d []byte) (json.RawMessage, error) {
	if len(d) == 0 {
		return nil, nil
	}
	switch {
	case len(d) > MaxAuditDetailsLen:
		return nil, fmt.Errorf("%w: details are longer than %d bytes", ErrInvalidAuditEvent, MaxAuditDetailsLen)
	case !utf8.Valid(d):
		return nil, fmt.Errorf("%w: details are not valid utf-8", ErrInvalidAuditEvent)
	case !json.Valid(d):
		return nil, fmt.Errorf("%w: details are not valid json", ErrInvalidAuditEvent)
	}
	if t := bytes.TrimLeft(d, " \t\r\n"); t[0] != '{' {
		return nil, fmt.Errorf("%w: details are not a json object", ErrInvalidAuditEvent)
	}
	var b bytes.Buffer
	b.Grow(len(d))
	if err := json.Compact(&b, d); err != nil {
		return nil, fmt.Errorf("%w: details: %w", ErrInvalidAuditEvent, err)
	}
	return json.RawMessage(b.Bytes()), nil
}

// printable reports whether s is valid UTF-8 made of printable runes
// (letters, marks, numbers, punctuation, symbols and the ASCII space; no
// control or format characters, no line breaks).
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
