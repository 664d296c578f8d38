package audit

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/aunsorm/aunsorm/sdk/pluginhost"
)

// Limits on the fields of an Event, in bytes: the SDK's, which plugins and
// plugintest check against too.
const (
	// MaxNameLen bounds Source and Action.
	MaxNameLen = pluginhost.MaxAuditNameLen
	// MaxTextLen bounds Subject and Outcome.
	MaxTextLen = pluginhost.MaxAuditTextLen
	// MaxDetailsLen bounds Details.
	MaxDetailsLen = pluginhost.MaxAuditDetailsLen
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
	if err := pluginhost.CheckAuditName("source", e.Source); err != nil {
		return Event{}, err
	}
	if err := pluginhost.CheckAuditName("action", e.Action); err != nil {
		return Event{}, err
	}
	if err := pluginhost.CheckAuditText("subject", e.Subject); err != nil {
		return Event{}, err
	}
	if err := pluginhost.CheckAuditText("outcome", e.Outcome); err != nil {
		return Event{}, err
	}
	details, err := pluginhost.CompactAuditDetails(e.Details)
	if err != nil {
		return Event{}, err
	}
	e.Details = details
	return e, nil
}
