package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

// openLog opens a log in a fresh directory with the test clock and closes it
// at cleanup.
func openLog(t testing.TB) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	l, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	l.now = fixedNow
	t.Cleanup(func() { _ = l.Close() })
	return l, path
}

// appendN appends n valid events numbered from 1.
func appendN(t *testing.T, l *Log, n int) []Record {
	t.Helper()
	var recs []Record
	for i := 1; i <= n; i++ {
		e := validEvent()
		e.Subject = fmt.Sprintf("key/%d", i)
		rec, err := l.Append(t.Context(), e)
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// rowCount counts the stored records.
func rowCount(t *testing.T, l *Log) int {
	t.Helper()
	var n int
	if err := l.db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestChainLinks(t *testing.T) {
	l, _ := openLog(t)
	head, err := l.Head(t.Context())
	if err != nil || head.Seq != 0 {
		t.Fatalf("Head of empty log = %+v, %v; want Seq 0", head, err)
	}
	recs := appendN(t, l, 5)
	var prev [32]byte
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Errorf("record %d has Seq %d", i, r.Seq)
		}
		if r.PrevHash != prev {
			t.Errorf("record %d PrevHash does not link", r.Seq)
		}
		if r.Hash != r.ComputeHash() {
			t.Errorf("record %d Hash is not ComputeHash", r.Seq)
		}
		prev = r.Hash
	}
	head, err = l.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(head, recs[4]) {
		t.Errorf("Head = %+v, want %+v", head, recs[4])
	}
	n, err := l.Verify(t.Context())
	if err != nil || n != 5 {
		t.Errorf("Verify = %d, %v; want 5, nil", n, err)
	}
}

func TestVerifyEmpty(t *testing.T) {
	l, _ := openLog(t)
	if n, err := l.Verify(t.Context()); n != 0 || err != nil {
		t.Errorf("Verify of empty log = %d, %v", n, err)
	}
}

func TestListPages(t *testing.T) {
	l, _ := openLog(t)
	recs := appendN(t, l, 7)
	tests := []struct {
		name  string
		after uint64
		limit int
		want  []Record
	}{
		{"ok/all-default-limit", 0, 0, recs},
		{"ok/first-page", 0, 3, recs[:3]},
		{"ok/next-page", 3, 3, recs[3:6]},
		{"ok/last-page", 6, 3, recs[6:]},
		{"ok/past-end", 7, 3, nil},
		{"ok/huge-after", 1 << 63, 3, nil},
		{"ok/negative-limit", 5, -1, recs[5:]},
		{"ok/limit-clamped", 0, MaxListLimit * 10, recs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.List(t.Context(), tt.after, tt.limit)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("List(%d, %d) = %d records, want %d", tt.after, tt.limit, len(got), len(tt.want))
			}
		})
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name    string
		tamper  string // SQL run against a log of 5 records
		wantSeq uint64
	}{
		{"fail/outcome-edited", `UPDATE audit_log SET outcome = 'denied' WHERE seq = 3`, 3},
		{"fail/details-edited", `UPDATE audit_log SET details = '{"version":4,"by":"admin"}' WHERE seq = 2`, 2},
		{"fail/time-edited", `UPDATE audit_log SET time_ns = time_ns + 1 WHERE seq = 5`, 5},
		{"fail/first-record-edited", `UPDATE audit_log SET source = 'x509' WHERE seq = 1`, 1},
		{"fail/hash-replaced", `UPDATE audit_log SET hash = zeroblob(32) WHERE seq = 4`, 4},
		{"fail/hash-truncated", `UPDATE audit_log SET hash = X'00' WHERE seq = 2`, 2},
		{"fail/prev-hash-edited", `UPDATE audit_log SET prev_hash = zeroblob(32) WHERE seq = 3`, 3},
		{"fail/record-deleted", `DELETE FROM audit_log WHERE seq = 3`, 3},
		{"fail/first-record-deleted", `DELETE FROM audit_log WHERE seq = 1`, 1},
		{"fail/records-swapped", `UPDATE audit_log SET seq = 100 WHERE seq = 2;
			UPDATE audit_log SET seq = 2 WHERE seq = 3;
			UPDATE audit_log SET seq = 3 WHERE seq = 100;`, 2},
		{"fail/seq-zeroed", `UPDATE audit_log SET seq = 0 WHERE seq = 1`, 1},
		{"fail/last-record-renumbered", `INSERT INTO audit_log SELECT 6, time_ns, source, action, subject, outcome, details, hash, hash FROM audit_log WHERE seq = 5;
			DELETE FROM audit_log WHERE seq = 5;`, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := openLog(t)
			appendN(t, l, 5)
			if _, err := l.db.SQL().ExecContext(t.Context(), tt.tamper); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			n, err := l.Verify(t.Context())
			if !errors.Is(err, ErrChainBroken) {
				t.Fatalf("Verify error = %v, want ErrChainBroken", err)
			}
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Seq != tt.wantSeq {
				t.Fatalf("Verify error = %v, want broken at seq %d", err, tt.wantSeq)
			}
			if n != tt.wantSeq-1 {
				t.Errorf("Verify verified %d records, want %d", n, tt.wantSeq-1)
			}
		})
	}
}

func TestVerifyDetectsRecomputedHash(t *testing.T) {
	// An attacker who edits record 3 and recomputes its hash breaks the
	// link to record 4 instead.
	l, _ := openLog(t)
	recs := appendN(t, l, 5)
	forged := recs[2]
	forged.Outcome = "denied"
	forged.Hash = forged.ComputeHash()
	if _, err := l.db.SQL().ExecContext(t.Context(), `UPDATE audit_log SET outcome = ?, hash = ? WHERE seq = 3`,
		forged.Outcome, forged.Hash[:]); err != nil {
		t.Fatal(err)
	}
	_, err := l.Verify(t.Context())
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Seq != 4 {
		t.Fatalf("Verify error = %v, want broken at seq 4", err)
	}
}

func TestAppendRefusesCorruptHead(t *testing.T) {
	l, _ := openLog(t)
	appendN(t, l, 2)
	if _, err := l.db.SQL().ExecContext(t.Context(), `UPDATE audit_log SET hash = X'01' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(t.Context(), validEvent()); !errors.Is(err, ErrChainBroken) {
		t.Errorf("Append on corrupt head = %v, want ErrChainBroken", err)
	}
	if got := rowCount(t, l); got != 2 {
		t.Errorf("rows = %d, want 2", got)
	}
}

func TestConcurrentAppends(t *testing.T) {
	const workers, each = 8, 25
	l, _ := openLog(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				e := validEvent()
				e.Source = fmt.Sprintf("plugin-%d", w)
				e.Subject = fmt.Sprint(i)
				if _, err := l.Append(t.Context(), e); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Append: %v", err)
	}
	n, err := l.Verify(t.Context())
	if err != nil || n != workers*each {
		t.Errorf("Verify = %d, %v; want %d, nil", n, err, workers*each)
	}
}

func TestReopenContinuesChain(t *testing.T) {
	l, path := openLog(t)
	recs := appendN(t, l, 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer l2.Close()
	head, err := l2.Head(t.Context())
	if err != nil || !reflect.DeepEqual(head, recs[2]) {
		t.Fatalf("Head after reopen = %+v, %v; want %+v", head, err, recs[2])
	}
	rec, err := l2.Append(t.Context(), Event{Source: SourceDaemon, Action: "config.reload"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Seq != 4 || rec.PrevHash != recs[2].Hash {
		t.Errorf("appended after reopen: Seq %d, links %v", rec.Seq, rec.PrevHash == recs[2].Hash)
	}
	if n, err := l2.Verify(t.Context()); err != nil || n != 4 {
		t.Errorf("Verify = %d, %v; want 4, nil", n, err)
	}
}

func TestInvalidEventWritesNothing(t *testing.T) {
	l, _ := openLog(t)
	appendN(t, l, 1)
	before, err := l.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	bad := []Event{
		{Action: "x"},
		{Source: "kms"},
		{Source: "kms", Action: "x", Details: json.RawMessage(`[]`)},
		{Source: "kms", Action: "x\r\ny"},
	}
	for i, e := range bad {
		if _, err := l.Append(t.Context(), e); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("event %d: Append = %v, want ErrInvalidEvent", i, err)
		}
	}
	after, err := l.Head(t.Context())
	if err != nil || !reflect.DeepEqual(before, after) {
		t.Errorf("head moved after invalid events: %+v -> %+v (%v)", before, after, err)
	}
	if got := rowCount(t, l); got != 1 {
		t.Errorf("rows = %d, want 1", got)
	}
}

func TestAppendCancelledContext(t *testing.T) {
	l, _ := openLog(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Append(ctx, validEvent()); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with cancelled context = %v, want context.Canceled", err)
	}
	if got := rowCount(t, l); got != 0 {
		t.Errorf("rows = %d, want 0", got)
	}
}
