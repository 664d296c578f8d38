package audit

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestWithClock: an event without a time is stamped by the clock Open was
// given (the daemon's attested clock), not the local one.
func TestWithClock(t *testing.T) {
	attested := time.Date(2031, 2, 3, 4, 5, 6, 7, time.UTC)
	l, err := Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), WithClock(func() time.Time { return attested }))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e := validEvent()
	e.Time = time.Time{}
	rec, err := l.Append(t.Context(), e)
	if err != nil || !rec.Time.Equal(attested) {
		t.Fatalf("record time %v, %v; want %v", rec.Time, err, attested)
	}
	recs, err := l.List(t.Context(), 0, 1)
	if err != nil || len(recs) != 1 || !recs[0].Time.Equal(attested) {
		t.Fatalf("stored %+v, %v", recs, err)
	}
}

// TestVerifyPrefix: VerifyPrefix reads only what is new since its last
// call (a record changed inside the verified prefix goes unseen by it and
// is found by the full Verify, which then resets the prefix), and new
// records are checked as they come.
func TestVerifyPrefix(t *testing.T) {
	l, _ := openLog(t)
	appendN(t, l, 5)
	if n, err := l.VerifyPrefix(t.Context()); n != 5 || err != nil {
		t.Fatalf("VerifyPrefix = %d, %v", n, err)
	}
	if _, err := l.db.SQL().ExecContext(t.Context(), `UPDATE audit_log SET outcome = 'denied' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 2)
	if n, err := l.VerifyPrefix(t.Context()); n != 7 || err != nil {
		t.Fatalf("VerifyPrefix re-read the verified prefix: %d, %v", n, err)
	}
	n, err := l.Verify(t.Context())
	var ce *ChainError
	if n != 1 || !errors.As(err, &ce) || ce.Seq != 2 {
		t.Fatalf("Verify = %d, %v; want broken at 2", n, err)
	}
	// The full walk reset the prefix: the page status now says broken too.
	if n, err := l.VerifyPrefix(t.Context()); n != 1 || !errors.As(err, &ce) || ce.Seq != 2 {
		t.Fatalf("VerifyPrefix after Verify = %d, %v", n, err)
	}
}

// TestVerifyPrefixChecksNewRecords: a record appended after the prefix
// that does not link is refused, and the prefix stays before it.
func TestVerifyPrefixChecksNewRecords(t *testing.T) {
	l, _ := openLog(t)
	appendN(t, l, 3)
	if n, err := l.VerifyPrefix(t.Context()); n != 3 || err != nil {
		t.Fatalf("VerifyPrefix = %d, %v", n, err)
	}
	appendN(t, l, 2)
	if _, err := l.db.SQL().ExecContext(t.Context(), `UPDATE audit_log SET prev_hash = zeroblob(32) WHERE seq = 4`); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		n, err := l.VerifyPrefix(t.Context())
		var ce *ChainError
		if n != 3 || !errors.As(err, &ce) || ce.Seq != 4 {
			t.Fatalf("VerifyPrefix = %d, %v; want 3 verified, broken at 4", n, err)
		}
	}
}

func TestQuery(t *testing.T) {
	l, _ := openLog(t)
	base := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	events := []struct{ source, action string }{
		{"daemon", "plugin.start"}, {"crypto", "key.create"}, {"daemon", "plugin.swap"},
		{"pqc", "key.create"}, {"daemon", "config.reload"}, {"crypto", "key.delete"},
	}
	for i, e := range events {
		ev := validEvent()
		ev.Time, ev.Source, ev.Action = base.Add(time.Duration(i)*time.Minute), e.source, e.action
		if _, err := l.Append(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	seqs := func(recs []Record) []uint64 {
		var out []uint64
		for _, r := range recs {
			out = append(out, r.Seq)
		}
		return out
	}
	tests := []struct {
		name     string
		f        Filter
		want     []uint64
		wantNext uint64
	}{
		{"ok/all", Filter{}, []uint64{1, 2, 3, 4, 5, 6}, 6},
		{"ok/source", Filter{Source: "daemon"}, []uint64{1, 3, 5}, 6},
		{"ok/action", Filter{Action: "key.create"}, []uint64{2, 4}, 6},
		{"ok/action-family", Filter{Action: "plugin.*"}, []uint64{1, 3}, 6},
		{"ok/family-is-not-a-prefix-match", Filter{Action: "plug.*"}, nil, 6},
		{"ok/source-and-action", Filter{Source: "crypto", Action: "key.delete"}, []uint64{6}, 6},
		{"ok/since", Filter{Since: base.Add(4 * time.Minute)}, []uint64{5, 6}, 6},
		{"ok/until-exclusive", Filter{Until: base.Add(2 * time.Minute)}, []uint64{1, 2}, 6},
		{"ok/range", Filter{Since: base.Add(time.Minute), Until: base.Add(3 * time.Minute), Source: "crypto"}, []uint64{2}, 6},
		{"ok/page-ends-at-last-record", Filter{Source: "daemon", Limit: 2}, []uint64{1, 3}, 3},
		{"ok/next-page", Filter{Source: "daemon", Limit: 2, After: 3}, []uint64{5}, 6},
		{"ok/nothing-new", Filter{After: 6}, nil, 6},
		{"ok/far-past", Filter{Until: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)}, nil, 6},
		{"ok/far-future", Filter{Since: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}, nil, 6},
		{"ok/unknown-source", Filter{Source: "nobody"}, nil, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, next, err := l.Query(t.Context(), tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := seqs(recs); !slices.Equal(got, tt.want) || next != tt.wantNext {
				t.Fatalf("Query = %v next %d, want %v next %d", got, next, tt.want, tt.wantNext)
			}
		})
	}
}
