package audit

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func FuzzAppendEvent(f *testing.F) {
	f.Add("kms", "key.rotate", "key/1", "ok", []byte(`{"v":1}`), int64(1700000000000000000))
	f.Add("daemon", "plugin.restart", "", "", []byte(nil), int64(0))
	f.Add("", "x", "", "", []byte(nil), int64(1))
	f.Add("kms ", "x", "", "", []byte(nil), int64(1))
	f.Add("k", "a\nb", "", "", []byte(nil), int64(1))
	f.Add("k", "a", "s\x00", "", []byte(nil), int64(1))
	f.Add("k", "a", "", "", []byte(`[1]`), int64(1))
	f.Add("k", "a", "", "", []byte(` { "a" : [ 1 , 2 ] } `), int64(-1))
	f.Add("k", "a", "", "", []byte("{\"a\":\"\xff\"}"), int64(1))
	f.Add("ş", "ü", "ç", "ğ", []byte(`{"k":"\u00e9"}`), int64(-1<<63))

	path := f.TempDir() + "/fuzz.db"
	l, err := Open(context.Background(), path)
	if err != nil {
		f.Fatal(err)
	}
	l.now = fixedNow
	f.Cleanup(func() { _ = l.Close() })

	f.Fuzz(func(t *testing.T, source, action, subject, outcome string, details []byte, nanos int64) {
		ctx := context.Background()
		e := Event{Time: time.Unix(0, nanos), Source: source, Action: action, Subject: subject, Outcome: outcome, Details: details}
		before, err := l.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := l.Append(ctx, e)
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("Append failed with other than ErrInvalidEvent: %v", err)
			}
			after, err := l.Head(ctx)
			if err != nil || !reflect.DeepEqual(before, after) {
				t.Fatalf("rejected event moved the head: %+v -> %+v (%v)", before, after, err)
			}
			return
		}
		if rec.Seq != before.Seq+1 || rec.PrevHash != before.Hash || rec.Hash != rec.ComputeHash() {
			t.Fatalf("record does not link: %+v after %+v", rec, before)
		}
		if rec.Time.UnixNano() != nanos || rec.Source != source || rec.Action != action ||
			rec.Subject != subject || rec.Outcome != outcome {
			t.Fatalf("stored event differs from the input: %+v", rec)
		}
		got, err := l.List(ctx, before.Seq, 1)
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], rec) {
			t.Fatalf("List returned %+v (%v), want %+v", got, err, rec)
		}
		// What was stored validates again unchanged.
		again, err := normalize(rec.Event, fixedNow)
		if err != nil || !reflect.DeepEqual(again, rec.Event) {
			t.Fatalf("stored event does not normalise to itself: %+v (%v)", again, err)
		}
	})
}
