package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on the fields of an Event, in bytes.
const (
	// MaxNameLen bounds Source and Action.
	MaxNameLen = 128
	// MaxTextLen bounds Subject and Outcome.
	MaxTextLen = 256
	// MaxDetailsLen bounds Details.
	MaxDetailsLen = 16 << 10
)

// SourceDaemon is the Source of the events the daemon appends itself.
const SourceDaemon = "daemon"

// Event is something worth recording: who did what to what, and how it went.
type Event struct {
	// Time is when it happened; the current time when zero. Stored with
	// nanosecond precision, in UTC.
	Time time.Time
	// Source is the plugin name, or SourceDaemon.
	Source string
	// Action names what was done, such as "key.rotate" or "plugin.restart".
	Action string
	// Subject is what it was done to (a key id, a plugin name, …); may be
	// empty.
	Subject string
	// Outcome is how it ended, such as "ok" or "denied"; may be empty.
	Outcome string
	// Details is an optional JSON object with more context. It must never
	// carry secrets.
	Details json.RawMessage
}

// Earliest and latest times that fit in int64 Unix nanoseconds.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// normalize validates e and returns it in stored form: Time in UTC without a
// monotonic reading (now() when zero), Details compact (nil when empty).
func normalize(e Event, now func() time.Time) (Event, error) {
	if e.Time.IsZero() {
		e.Time = now()
	}
	if e.Time.Before(minTime) || e.Time.After(maxTime) {
		return Event{}, fmt.Errorf("%w: time outside the unix nanosecond range", ErrInvalidEvent)
	}
	e.Time = time.Unix(0, e.Time.UnixNano()).UTC()
	if err := checkName("source", e.Source); err != nil {
		return Event{}, err
	}
	if err := checkName("action", e.Action); err != nil {
		return Event{}, err
	}
	if err := checkText("subject", e.Subject); err != nil {
		return Event{}, err
	}
	if err := checkText("outcome", e.Outcome); err != nil {
		return Event{}, err
	}
	details, err := compactDetails(e.Details)
	if err != nil {
		return Event{}, err
	}
	e.Details = details
	return e, nil
}

// checkName validates Source and Action: non-empty, bounded, printable, not
// padded.
func checkName(field, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalidEvent, field)
	case len(s) > MaxNameLen:
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidEvent, field, MaxNameLen)
	case !printable(s):
		return fmt.Errorf("%w: %s is not printable utf-8", ErrInvalidEvent, field)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%w: %s has leading or trailing spaces", ErrInvalidEvent, field)
	}
	return nil
}

// checkText validates Subject and Outcome: bounded and printable, may be
// empty.
func checkText(field, s string) error {
	switch {
	case len(s) > MaxTextLen:
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidEvent, field, MaxTextLen)
	case !printable(s):
		return fmt.Errorf("%w: %s is not printable utf-8", ErrInvalidEvent, field)
	}
	return nil
}

// printable reports whether s is valid UTF-8 made of printable runes (letters,
// marks, numbers, punctuation, symbols and the ASCII space; no control or
// format characters, no line breaks).
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// compactDetails checks that d is empty or one JSON object and returns it
// without insignificant whitespace.
func compactDetails(d json.RawMessage) (json.RawMessage, error) {
	if len(d) == 0 {
		return nil, nil
	}
	switch {
	case len(d) > MaxDetailsLen:
		return nil, fmt.Errorf("%w: details are longer than %d bytes", ErrInvalidEvent, MaxDetailsLen)
	case !utf8.Valid(d):
		return nil, fmt.Errorf("%w: details are not valid utf-8", ErrInvalidEvent)
	case !json.Valid(d):
		return nil, fmt.Errorf("%w: details are not valid json", ErrInvalidEvent)
	}
	if t := bytes.TrimLeft(d, " \t\r\n"); t[0] != '{' {
		return nil, fmt.Errorf("%w: details are not a json object", ErrInvalidEvent)
	}
	var b bytes.Buffer
	b.Grow(len(d))
	if err := json.Compact(&b, d); err != nil {
		return nil, fmt.Errorf("%w: details: %w", ErrInvalidEvent, err)
	}
	return json.RawMessage(b.Bytes()), nil
}
