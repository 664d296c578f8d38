package seal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// memTable is a Table over a map, with a hook to simulate a concurrent
// writer between Scan and Replace.
type memTable struct {
	mu        sync.Mutex
	rows      map[string]Row
	beforeSet func(id string)
	scanErr   error
}

func (m *memTable) Scan(_ context.Context, after string, limit int) ([]Row, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.scanErr != nil {
		return nil, m.scanErr
	}
	ids := make([]string, 0, len(m.rows))
	for id := range m.rows {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []Row
	for _, id := range ids[:min(limit, len(ids))] {
		r := m.rows[id]
		out = append(out, Row{ID: r.ID, AAD: r.AAD, Sealed: bytes.Clone(r.Sealed)})
	}
	return out, nil
}

func (m *memTable) Replace(_ context.Context, id string, prev, next []byte) (bool, error) {
	if m.beforeSet != nil {
		m.beforeSet(id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rows[id]
	if !bytes.Equal(r.Sealed, prev) {
		return false, nil
	}
	r.Sealed = next
	m.rows[id] = r
	return true, nil
}

func TestResealAll(t *testing.T) {
	v1 := newSealer(t, Key{1, key(1)})
	v2 := newSealer(t, Key{1, key(1)}, Key{2, key(2)})
	fill := func(n int) *memTable {
		m := &memTable{rows: map[string]Row{}}
		for i := range n {
			id := fmt.Sprintf("row-%04d", i)
			s := v1
			if i%3 == 0 {
				s = v2 // already current
			}
			sealed, err := s.Seal([]byte(id), []byte("secret-"+id))
			if err != nil {
				t.Fatal(err)
			}
			m.rows[id] = Row{ID: id, AAD: []byte(id), Sealed: sealed}
		}
		return m
	}
	check := func(t *testing.T, m *memTable) {
		t.Helper()
		for id, r := range m.rows {
			pt, stale, err := v2.Open(r.AAD, r.Sealed)
			if err != nil || stale || string(pt) != "secret-"+id {
				t.Fatalf("row %s after ResealAll: %q stale=%v err=%v", id, pt, stale, err)
			}
		}
	}

	t.Run("ok/batches", func(t *testing.T) {
		m := fill(250)
		st, err := v2.ResealAll(context.Background(), m, 7)
		if err != nil {
			t.Fatal(err)
		}
		if st.Scanned != 250 || st.Resealed != 250-84 || st.Raced != 0 || st.Refused != 0 {
			t.Fatalf("stats %+v", st)
		}
		check(t, m)
		st, err = v2.ResealAll(context.Background(), m, 0)
		if err != nil || st.Resealed != 0 {
			t.Fatalf("second run: %+v, %v", st, err)
		}
	})
	t.Run("ok/concurrent-writer-wins", func(t *testing.T) {
		m := fill(10)
		m.beforeSet = func(id string) {
			if id != "row-0001" {
				return
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			sealed, _ := v2.Seal([]byte(id), []byte("secret-"+id))
			m.rows[id] = Row{ID: id, AAD: []byte(id), Sealed: sealed}
		}
		st, err := v2.ResealAll(context.Background(), m, 3)
		if err != nil || st.Raced != 1 {
			t.Fatalf("stats %+v, %v", st, err)
		}
		check(t, m)
	})
	t.Run("fail/tampered-row-reported-rest-resealed", func(t *testing.T) {
		m := fill(20)
		bad := m.rows["row-0005"]
		bad.Sealed[len(bad.Sealed)-1] ^= 1
		st, err := v2.ResealAll(context.Background(), m, 4)
		if !errors.Is(err, ErrRefused) || st.Refused != 1 || !bytes.Contains([]byte(err.Error()), []byte("row-0005")) {
			t.Fatalf("stats %+v, %v", st, err)
		}
		delete(m.rows, "row-0005")
		check(t, m)
	})
	t.Run("fail/scan", func(t *testing.T) {
		m := fill(1)
		m.scanErr = errors.New("disk on fire")
		if _, err := v2.ResealAll(context.Background(), m, 4); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("fail/cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := v2.ResealAll(ctx, fill(3), 4); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
}
