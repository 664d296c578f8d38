package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestUseOnce(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	forEachEngine(t, func(t *testing.T, tg target) {
		a, b := tg.open(t, nil), tg.open(t, nil) // two daemons
		ctx := t.Context()
		tests := []struct {
			name        string
			db          *DB
			scope, item string
			want        error
		}{
			{"ok/first", a, "jti", "abc", nil},
			{"fail/replay-same-handle", a, "jti", "abc", ErrAlreadyUsed},
			{"fail/replay-other-handle", b, "jti", "abc", ErrAlreadyUsed},
			{"ok/same-item-other-scope", b, "nonce", "abc", nil},
			{"fail/empty-scope", a, "", "x", ErrInvalidArgument},
			{"fail/empty-item", a, "jti", "", ErrInvalidArgument},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.db.UseOnce(ctx, tt.scope, tt.item, t0)
				if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
					t.Fatalf("UseOnce = %v, want %v", err, tt.want)
				}
			})
		}
	})
}

func TestUseOnceConcurrent(t *testing.T) {
	// Every trial: many goroutines on two handles race for one value;
	// exactly one wins.
	const trials, racers = 20, 8
	forEachEngine(t, func(t *testing.T, tg target) {
		dbs := []*DB{tg.open(t, nil), tg.open(t, nil)}
		for trial := range trials {
			var wins, used atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for r := range racers {
				wg.Go(func() {
					<-start
					err := dbs[r%2].UseOnce(t.Context(), "race", fmt.Sprint("v", trial), time.Unix(0, 0))
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, ErrAlreadyUsed):
						used.Add(1)
					default:
						t.Errorf("UseOnce: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 || used.Load() != racers-1 {
				t.Fatalf("trial %d: %d winners, %d refused; want 1 and %d", trial, wins.Load(), used.Load(), racers-1)
			}
		}
	})
}

func TestUseOnceTxRollsBack(t *testing.T) {
	errBoom := errors.New("boom")
	forEachEngine(t, func(t *testing.T, tg target) {
		db := tg.open(t, nil)
		err := db.Tx(t.Context(), func(tx *sql.Tx) error {
			if err := db.UseOnceTx(t.Context(), tx, "jti", "x", time.Unix(0, 0)); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Tx = %v", err)
		}
		// The rolled-back use did not count.
		if err := db.UseOnce(t.Context(), "jti", "x", time.Unix(0, 0)); err != nil {
			t.Errorf("UseOnce after rollback = %v, want nil", err)
		}
	})
}

func TestNextCounter(t *testing.T) {
	const workers, each = 6, 25
	forEachEngine(t, func(t *testing.T, tg target) {
		dbs := []*DB{tg.open(t, nil), tg.open(t, nil)}
		if _, err := dbs[0].Next(t.Context(), ""); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Next(\"\") = %v, want ErrInvalidArgument", err)
		}
		var mu sync.Mutex
		seen := map[int64]bool{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				last := int64(0)
				for range each {
					v, err := dbs[w%2].Next(t.Context(), "crl")
					if err != nil {
						t.Errorf("Next: %v", err)
						return
					}
					if v <= last {
						t.Errorf("worker %d got %d after %d", w, v, last)
					}
					last = v
					mu.Lock()
					if seen[v] {
						t.Errorf("value %d handed out twice", v)
					}
					seen[v] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for v := int64(1); v <= workers*each; v++ {
			if !seen[v] {
				t.Errorf("value %d never handed out", v)
			}
		}
		// Another counter starts at 1.
		if v, err := dbs[1].Next(t.Context(), "serial"); err != nil || v != 1 {
			t.Errorf("Next(serial) = %d, %v; want 1", v, err)
		}
	})
}

func TestPurge(t *testing.T) {
	schema := []Migration{{1, "tokens", `CREATE TABLE tokens (id INTEGER PRIMARY KEY, exp BIGINT NOT NULL)`}}
	tests := []struct {
		name      string
		rows      int // rows with exp = 0..rows-1
		before    int64
		batch     int
		want      int64
		wantLeft  int
		wantError error
	}{
		{"ok/several-batches", 25, 20, 3, 20, 5, nil},
		{"ok/exact-batches", 12, 12, 4, 12, 0, nil},
		{"ok/nothing-expired", 5, 0, 10, 0, 5, nil},
		{"fail/zero-batch", 5, 5, 0, 0, 5, ErrInvalidArgument},
	}
	forEachEngine(t, func(t *testing.T, tg target) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				db := tg.open(t, schema)
				ctx := t.Context()
				if err := db.Tx(ctx, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `DELETE FROM tokens`); err != nil {
						return err
					}
					for i := range tt.rows {
						if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO tokens (id, exp) VALUES (?, ?)`), i+1, i); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				n, err := db.Purge(ctx, PurgeSpec{Table: "tokens", Key: []string{"id"}, ExpiresColumn: "exp"}, tt.before, tt.batch)
				if !errors.Is(err, tt.wantError) || (tt.wantError == nil && err != nil) {
					t.Fatalf("Purge error = %v, want %v", err, tt.wantError)
				}
				if n != tt.want {
					t.Errorf("purged %d, want %d", n, tt.want)
				}
				if got := count(t, db, "tokens"); got != tt.wantLeft {
					t.Errorf("left %d rows, want %d", got, tt.wantLeft)
				}
			})
		}
		t.Run("fail/bad-identifier", func(t *testing.T) {
			db := tg.open(t, schema)
			_, err := db.Purge(t.Context(), PurgeSpec{Table: "tokens; DROP TABLE tokens", Key: []string{"id"}, ExpiresColumn: "exp"}, 1, 1)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("Purge = %v, want ErrInvalidArgument", err)
			}
		})
		t.Run("ok/used-values", func(t *testing.T) {
			db := tg.open(t, schema)
			for i := range 7 {
				if err := db.UseOnce(t.Context(), "n", fmt.Sprint(i), time.Unix(int64(i), 0)); err != nil {
					t.Fatal(err)
				}
			}
			n, err := db.PurgeUsed(t.Context(), time.Unix(5, 0), 2)
			if err != nil || n != 5 {
				t.Errorf("PurgeUsed = %d, %v; want 5", n, err)
			}
			// A purged value can be recorded again; a kept one cannot.
			if err := db.UseOnce(t.Context(), "n", "0", time.Unix(0, 0)); err != nil {
				t.Errorf("UseOnce of purged value = %v", err)
			}
			if err := db.UseOnce(t.Context(), "n", "6", time.Unix(0, 0)); !errors.Is(err, ErrAlreadyUsed) {
				t.Errorf("UseOnce of kept value = %v, want ErrAlreadyUsed", err)
			}
		})
	})
}

func TestLockTxSerialises(t *testing.T) {
	// Read-modify-write of one row from two handles, each under LockTx:
	// no update is lost.
	schema := []Migration{{1, "acc", `CREATE TABLE acc (id INTEGER PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO acc VALUES (1, 0);`}}
	const each = 30
	forEachEngine(t, func(t *testing.T, tg target) {
		dbs := []*DB{tg.open(t, schema), tg.open(t, schema)}
		var wg sync.WaitGroup
		for w := range 4 {
			db := dbs[w%2]
			wg.Go(func() {
				for range each {
					err := db.Tx(t.Context(), func(tx *sql.Tx) error {
						if err := db.LockTx(t.Context(), tx, "acc"); err != nil {
							return err
						}
						var n int64
						if err := tx.QueryRowContext(t.Context(), `SELECT n FROM acc WHERE id = 1`).Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(t.Context(), db.Rebind(`UPDATE acc SET n = ? WHERE id = 1`), n+1)
						return err
					})
					if err != nil {
						t.Errorf("Tx: %v", err)
					}
				}
			})
		}
		wg.Wait()
		var n int
		if err := dbs[0].SQL().QueryRowContext(t.Context(), `SELECT n FROM acc WHERE id = 1`).Scan(&n); err != nil || n != 4*each {
			t.Errorf("n = %d, %v; want %d", n, err, 4*each)
		}
	})
}

// fakeClock is a settable clock for leases.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
	err error
}

func (c *fakeClock) Now() (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now, c.err
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestLease(t *testing.T) {
	const ttl = 10 * time.Second
	forEachEngine(t, func(t *testing.T, tg target) {
		ctx := t.Context()
		clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
		dbA, dbB := tg.open(t, nil), tg.open(t, nil)
		a, err := dbA.NewLease(LeaseOptions{Name: "crl", Holder: "a", TTL: ttl, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		b, err := dbB.NewLease(LeaseOptions{Name: "crl", Holder: "b", TTL: ttl, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		step := func(name string, l *Lease, wantTok int64, wantErr error) int64 {
			t.Helper()
			tok, err := l.Acquire(ctx)
			if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
				t.Fatalf("%s: Acquire = %d, %v; want %d, %v", name, tok, err, wantTok, wantErr)
			}
			if tok != wantTok {
				t.Fatalf("%s: token = %d, want %d", name, tok, wantTok)
			}
			return tok
		}
		guard := func(l *Lease, db *DB, tok int64) error {
			return db.Tx(ctx, func(tx *sql.Tx) error { return l.Guard(ctx, tx, tok) })
		}

		tokA := step("ok/a-takes-free-lease", a, 1, nil)
		step("fail/b-while-a-holds", b, 0, ErrLeaseHeld)
		clk.advance(ttl / 2)
		step("ok/a-renews-same-token", a, tokA, nil)
		clk.advance(ttl - time.Second) // past the first term, within the renewed one
		step("fail/b-within-renewed-term", b, 0, ErrLeaseHeld)
		if err := guard(a, dbA, tokA); err != nil {
			t.Errorf("Guard of the current term = %v", err)
		}
		clk.advance(ttl) // a died: its term runs out
		if err := guard(a, dbA, tokA); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("Guard of an expired term = %v, want ErrLeaseLost", err)
		}
		tokB := step("ok/b-takes-over", b, tokA+1, nil)
		if err := guard(a, dbA, tokA); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("Guard of the stale token = %v, want ErrLeaseLost", err)
		}
		if err := guard(b, dbB, tokB); err != nil {
			t.Errorf("Guard of b's term = %v", err)
		}
		step("fail/a-comes-back", a, 0, ErrLeaseHeld)
		if err := b.Release(ctx); err != nil {
			t.Fatal(err)
		}
		step("ok/a-after-release", a, tokB+1, nil)
		clk.advance(2 * ttl)
		step("ok/a-after-own-lapse-new-token", a, tokB+2, nil)

		clk.mu.Lock()
		clk.err = errors.New("stale")
		clk.mu.Unlock()
		if _, err := a.Acquire(ctx); !errors.Is(err, ErrNoClock) {
			t.Errorf("Acquire with a stale clock = %v, want ErrNoClock", err)
		}
	})
}

func TestLeaseRace(t *testing.T) {
	// A free lease raced for by holders on two handles: exactly one gets
	// it, every trial.
	const trials, holders = 15, 6
	forEachEngine(t, func(t *testing.T, tg target) {
		clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
		dbs := []*DB{tg.open(t, nil), tg.open(t, nil)}
		for trial := range trials {
			var wins atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for h := range holders {
				l, err := dbs[h%2].NewLease(LeaseOptions{Name: fmt.Sprint("job", trial), Holder: fmt.Sprint("h", h), TTL: time.Minute, Now: clk.Now})
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					<-start
					_, err := l.Acquire(context.Background())
					switch {
					case err == nil:
						wins.Add(1)
					case !errors.Is(err, ErrLeaseHeld):
						t.Errorf("Acquire: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("trial %d: %d holders got the lease, want 1", trial, wins.Load())
			}
		}
	})
}

func TestNewLeaseOptions(t *testing.T) {
	db := openTestDB(t)
	now := func() (time.Time, error) { return time.Time{}, nil }
	tests := []struct {
		name string
		opts LeaseOptions
		want error
	}{
		{"ok/valid", LeaseOptions{Name: "n", Holder: "h", TTL: time.Second, Now: now}, nil},
		{"fail/no-name", LeaseOptions{Holder: "h", TTL: time.Second, Now: now}, ErrInvalidArgument},
		{"fail/no-holder", LeaseOptions{Name: "n", TTL: time.Second, Now: now}, ErrInvalidArgument},
		{"fail/zero-ttl", LeaseOptions{Name: "n", Holder: "h", Now: now}, ErrInvalidArgument},
		{"fail/no-clock", LeaseOptions{Name: "n", Holder: "h", TTL: time.Second}, ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.NewLease(tt.opts)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("NewLease = %v, want %v", err, tt.want)
			}
		})
	}
}

// openTestDB opens an empty SQLite database.
func openTestDB(t *testing.T) *DB {
	t.Helper()
	db, _ := openTest(t, nil)
	return db
}

func TestLeaseState(t *testing.T) {
	forEachEngine(t, func(t *testing.T, tg target) {
		clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
		db := tg.open(t, nil)
		l, err := db.NewLease(LeaseOptions{Name: "s", Holder: "a", TTL: time.Second, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := l.State(t.Context()); err != nil || st != (LeaseState{}) {
			t.Fatalf("State of an untaken lease = %+v, %v", st, err)
		}
		if _, err := l.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st, err := l.State(t.Context()); err != nil || st != (LeaseState{Holder: "a", Token: 1, Live: true}) {
			t.Fatalf("State = %+v, %v", st, err)
		}
		clk.advance(time.Second)
		if st, err := l.State(t.Context()); err != nil || st.Live {
			t.Fatalf("State after the term = %+v, %v; want not live", st, err)
		}
	})
}
