package plugintest

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestCheckAuditEvent(t *testing.T) {
	tests := []struct {
		name                     string
		action, subject, outcome string
		details                  string
		wantDetails              string
		wantErr                  bool
	}{
		{name: "ok/minimal", action: "key.create"},
		{name: "ok/details", action: "key.create", subject: "k1", outcome: "ok", details: "{ \"a\" : 1 }", wantDetails: `{"a":1}`},
		{name: "ok/unicode", action: "anahtar.oluştur", subject: "çağrı"},
		{name: "fail/empty_action", wantErr: true},
		{name: "fail/padded_action", action: " x", wantErr: true},
		{name: "fail/long_action", action: strings.Repeat("a", MaxAuditNameLen+1), wantErr: true},
		{name: "fail/newline_subject", action: "a", subject: "x\ny", wantErr: true},
		{name: "fail/long_outcome", action: "a", outcome: strings.Repeat("o", MaxAuditTextLen+1), wantErr: true},
		{name: "fail/invalid_utf8", action: "a\xff", wantErr: true},
		{name: "fail/details_array", action: "a", details: "[1]", wantErr: true},
		{name: "fail/details_json", action: "a", details: "{", wantErr: true},
		{name: "fail/details_long", action: "a", details: `{"x":"` + strings.Repeat("x", MaxAuditDetailsLen) + `"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := checkAuditEvent(tt.action, tt.subject, tt.outcome, []byte(tt.details))
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidAuditEvent) {
					t.Fatalf("error %v, want ErrInvalidAuditEvent", err)
				}
				return
			}
			if err != nil || string(d) != tt.wantDetails {
				t.Fatalf("details %q, error %v; want %q", d, err, tt.wantDetails)
			}
		})
	}
}

func TestAuditLogChains(t *testing.T) {
	var l auditLog
	a, err := l.append("a", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.append("a", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.append("", "", "", nil); err == nil {
		t.Fatal("invalid event stored")
	}
	recs := l.snapshot()
	if len(recs) != 2 || a.Sequence != 1 || b.Sequence != 2 || a.HashHex == b.HashHex || len(a.HashHex) != 64 {
		t.Fatalf("records %+v", recs)
	}
}

// FuzzCheckAuditEvent: audit events come from the plugin under test; the
// check must never panic and what it accepts must be a compact JSON object.
func FuzzCheckAuditEvent(f *testing.F) {
	f.Add("key.create", "k1", "ok", []byte(`{"a": [1, 2]}`))
	f.Add("", "", "", []byte(nil))
	f.Add("a", "\x00", "", []byte(`{`))
	f.Add("a", "", "", []byte(` {"x":"\u0000"}`))
	f.Add("a", "", "", []byte("\xff"))
	f.Add("a", "", "", []byte(`  `))
	f.Fuzz(func(t *testing.T, action, subject, outcome string, details []byte) {
		d, err := checkAuditEvent(action, subject, outcome, details)
		if err != nil {
			return
		}
		unprintable := strings.IndexFunc(subject, func(r rune) bool { return r == utf8.RuneError || !unicode.IsPrint(r) }) >= 0
		if action == "" || unprintable || len(outcome) > MaxAuditTextLen {
			t.Fatalf("accepted an invalid event %q %q %q", action, subject, outcome)
		}
		if len(d) > 0 && (d[0] != '{' || len(d) > len(details)) {
			t.Fatalf("details %q from %q", d, details)
		}
	})
}
