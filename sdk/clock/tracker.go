package clock

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Tracker holds the newest verified snapshot of one pinned authority and
// answers, cheaply and without locks on the read path, whether attested time
// is fresh.
//
// Age is measured from the snapshot's own time: on receipt the age is the
// local wall-clock distance to unix_time_ms (never negative), and from then on
// it grows with the local monotonic clock, so a local wall-clock jump cannot
// make a snapshot look younger than it is.
type Tracker struct {
	pub    ed25519.PublicKey
	maxAge time.Duration
	now    func() time.Time

	cur     atomic.Pointer[held]
	mu      sync.Mutex // serialises Update
	lastErr atomic.Pointer[error]
	updates atomic.Uint64
}

type held struct {
	snap     Snapshot
	received time.Time     // local time of receipt, with monotonic reading
	age0     time.Duration // age on receipt
}

// Status describes the tracker's current view.
type Status struct {
	// Fresh is true when a verified snapshot younger than MaxAge is held.
	Fresh bool
	// Err is nil when Fresh, else ErrStale or ErrUntrusted (wrapped).
	Err error
	// Snapshot is the newest verified snapshot (zero when none).
	Snapshot Snapshot
	// Age is the age of Snapshot now; MaxAge is the limit.
	Age, MaxAge time.Duration
	// AttestedNow is the snapshot time advanced by the monotonic clock.
	AttestedNow time.Time
	// Updates counts accepted snapshots.
	Updates uint64
}

// TrackerOption customises a Tracker.
type TrackerOption func(*Tracker)

// WithNow replaces the local clock (tests).
func WithNow(now func() time.Time) TrackerOption { return func(t *Tracker) { t.now = now } }

// NewTracker returns a Tracker for the authority key pub that treats
// snapshots older than maxAge as stale.
func NewTracker(pub ed25519.PublicKey, maxAge time.Duration, opts ...TrackerOption) *Tracker {
	t := &Tracker{pub: append(ed25519.PublicKey(nil), pub...), maxAge: maxAge, now: time.Now}
	for _, o := range opts {
		o(t)
	}
	return t
}

// PublicKey returns the pinned authority key.
func (t *Tracker) PublicKey() ed25519.PublicKey { return t.pub }

// MaxAge returns the configured maximum age.
func (t *Tracker) MaxAge() time.Duration { return t.maxAge }

// Update verifies s and makes it current. A snapshot that fails verification
// or is older than the current one is rejected and remembered as the last
// error (reported by Status once the held snapshot goes stale).
func (t *Tracker) Update(s Snapshot) error {
	if err := Verify(&s, t.pub); err != nil {
		t.lastErr.Store(&err)
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur := t.cur.Load(); cur != nil && s.UnixTimeMs < cur.snap.UnixTimeMs {
		err := fmt.Errorf("%w: %d < %d", ErrRollback, s.UnixTimeMs, cur.snap.UnixTimeMs)
		t.lastErr.Store(&err)
		return err
	}
	now := t.now()
	age0 := now.Sub(time.UnixMilli(s.UnixTimeMs))
	if age0 < 0 {
		age0 = 0
	}
	t.cur.Store(&held{snap: s, received: now, age0: age0})
	t.lastErr.Store(nil)
	t.updates.Add(1)
	return nil
}

// Status returns the current view; it is safe for concurrent use and cheap
// enough for every request.
func (t *Tracker) Status() Status {
	st := Status{MaxAge: t.maxAge, Updates: t.updates.Load()}
	h := t.cur.Load()
	if h == nil {
		st.Err = t.failure(fmt.Errorf("%w: no snapshot received yet", ErrStale))
		return st
	}
	elapsed := t.now().Sub(h.received)
	if elapsed < 0 {
		elapsed = 0
	}
	st.Snapshot = h.snap
	st.Age = h.age0 + elapsed
	st.AttestedNow = time.UnixMilli(h.snap.UnixTimeMs).Add(elapsed)
	if st.Age > t.maxAge {
		st.Err = t.failure(fmt.Errorf("%w: snapshot is %d ms old (max %d ms)", ErrStale, st.Age.Milliseconds(), t.maxAge.Milliseconds()))
		return st
	}
	st.Fresh = true
	return st
}

// failure prefers a remembered untrusted-authority error over staleness: the
// reason no fresh snapshot is held is then that the authority is not trusted.
func (t *Tracker) failure(stale error) error {
	if p := t.lastErr.Load(); p != nil && errors.Is(*p, ErrUntrusted) {
		return *p
	}
	return stale
}

// Now returns attested time, or an error when it is not fresh.
func (t *Tracker) Now() (time.Time, error) {
	st := t.Status()
	if !st.Fresh {
		return time.Time{}, st.Err
	}
	return st.AttestedNow, nil
}
