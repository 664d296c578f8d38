package audit

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// fixedNow is the clock of tests that append events without a time.
func fixedNow() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC) }

// validEvent is an event that passes validation; cases change one field.
func validEvent() Event {
	return Event{
		Time:    time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600)),
		Source:  "kms",
		Action:  "key.rotate",
		Subject: "key/1234",
		Outcome: "ok",
		Details: json.RawMessage(`{ "version" : 3,
			"by": "admin" }`),
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Event)
		want   error
	}{
		{"ok/full", func(*Event) {}, nil},
		{"ok/minimal", func(e *Event) { *e = Event{Source: "daemon", Action: "config.reload"} }, nil},
		{"ok/source-max-len", func(e *Event) { e.Source = strings.Repeat("s", MaxNameLen) }, nil},
		{"ok/action-max-len", func(e *Event) { e.Action = strings.Repeat("a", MaxNameLen) }, nil},
		{"ok/subject-max-len", func(e *Event) { e.Subject = strings.Repeat("ş", MaxTextLen/2) }, nil},
		{"ok/outcome-max-len", func(e *Event) { e.Outcome = strings.Repeat("o", MaxTextLen) }, nil},
		{"ok/details-max-len", func(e *Event) {
			e.Details = json.RawMessage(`{"p":"` + strings.Repeat("x", MaxDetailsLen-8) + `"}`)
		}, nil},
		{"ok/details-empty-object", func(e *Event) { e.Details = json.RawMessage(`{}`) }, nil},
		{"ok/details-leading-space", func(e *Event) { e.Details = json.RawMessage("\n {\"a\":1}") }, nil},
		{"ok/unicode-names", func(e *Event) { e.Source, e.Action = "şifre", "anahtar.döndür" }, nil},
		{"ok/inner-space", func(e *Event) { e.Action = "plugin restart" }, nil},
		{"ok/time-epoch", func(e *Event) { e.Time = time.Unix(0, 0) }, nil},
		{"ok/time-earliest", func(e *Event) { e.Time = time.Unix(0, math.MinInt64) }, nil},
		{"ok/time-latest", func(e *Event) { e.Time = time.Unix(0, math.MaxInt64) }, nil},
		{"fail/source-empty", func(e *Event) { e.Source = "" }, ErrInvalidEvent},
		{"fail/action-empty", func(e *Event) { e.Action = "" }, ErrInvalidEvent},
		{"fail/source-too-long", func(e *Event) { e.Source = strings.Repeat("s", MaxNameLen+1) }, ErrInvalidEvent},
		{"fail/action-too-long", func(e *Event) { e.Action = strings.Repeat("a", MaxNameLen+1) }, ErrInvalidEvent},
		{"fail/action-newline", func(e *Event) { e.Action = "key.rotate\nforged" }, ErrInvalidEvent},
		{"fail/source-control", func(e *Event) { e.Source = "k\x00ms" }, ErrInvalidEvent},
		{"fail/source-invalid-utf8", func(e *Event) { e.Source = "k\xffms" }, ErrInvalidEvent},
		{"fail/action-bidi-override", func(e *Event) { e.Action = "key\u202erotate" }, ErrInvalidEvent},
		{"fail/source-padded", func(e *Event) { e.Source = "kms " }, ErrInvalidEvent},
		{"fail/action-tab", func(e *Event) { e.Action = "key\trotate" }, ErrInvalidEvent},
		{"fail/subject-too-long", func(e *Event) { e.Subject = strings.Repeat("x", MaxTextLen+1) }, ErrInvalidEvent},
		{"fail/outcome-too-long", func(e *Event) { e.Outcome = strings.Repeat("x", MaxTextLen+1) }, ErrInvalidEvent},
		{"fail/subject-newline", func(e *Event) { e.Subject = "a\nb" }, ErrInvalidEvent},
		{"fail/outcome-invalid-utf8", func(e *Event) { e.Outcome = "\xc3" }, ErrInvalidEvent},
		{"fail/details-too-long", func(e *Event) {
			e.Details = json.RawMessage(`{"p":"` + strings.Repeat("x", MaxDetailsLen) + `"}`)
		}, ErrInvalidEvent},
		{"fail/details-array", func(e *Event) { e.Details = json.RawMessage(`[1,2]`) }, ErrInvalidEvent},
		{"fail/details-string", func(e *Event) { e.Details = json.RawMessage(`"x"`) }, ErrInvalidEvent},
		{"fail/details-null", func(e *Event) { e.Details = json.RawMessage(`null`) }, ErrInvalidEvent},
		{"fail/details-whitespace", func(e *Event) { e.Details = json.RawMessage(`  `) }, ErrInvalidEvent},
		{"fail/details-truncated", func(e *Event) { e.Details = json.RawMessage(`{"a":`) }, ErrInvalidEvent},
		{"fail/details-two-objects", func(e *Event) { e.Details = json.RawMessage(`{}{}`) }, ErrInvalidEvent},
		{"fail/details-invalid-utf8", func(e *Event) { e.Details = json.RawMessage("{\"a\":\"\xff\"}") }, ErrInvalidEvent},
		{"fail/time-too-early", func(e *Event) { e.Time = time.Unix(0, math.MinInt64).Add(-time.Nanosecond) }, ErrInvalidEvent},
		{"fail/time-too-late", func(e *Event) { e.Time = time.Unix(0, math.MaxInt64).Add(time.Nanosecond) }, ErrInvalidEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEvent()
			tt.change(&e)
			got, err := normalize(e, fixedNow)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("normalize error = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("normalize: %v", err)
			}
			if got.Time.Location() != time.UTC {
				t.Errorf("time not in UTC: %v", got.Time)
			}
			if len(got.Details) > 0 && !json.Valid(got.Details) {
				t.Errorf("stored details not valid json: %q", got.Details)
			}
		})
	}
}

func TestNormalizeForms(t *testing.T) {
	got, err := normalize(validEvent(), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"version":3,"by":"admin"}`; string(got.Details) != want {
		t.Errorf("details = %s, want %s", got.Details, want)
	}
	if want := time.Date(2031, 5, 6, 6, 8, 9, 123456789, time.UTC); !got.Time.Equal(want) || got.Time != want {
		t.Errorf("time = %v, want %v", got.Time, want)
	}
	got, err = normalize(Event{Source: "daemon", Action: "start", Details: json.RawMessage{}}, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(fixedNow()) {
		t.Errorf("zero time became %v, want %v", got.Time, fixedNow())
	}
	if got.Details != nil {
		t.Errorf("empty details stored as %q, want nil", got.Details)
	}
}
