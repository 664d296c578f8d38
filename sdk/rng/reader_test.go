package rng

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds; the deadline only guards against a hung
// test, it is not a performance threshold.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeSeed is a controllable SeedFunc: deterministic bytes (a counter), an
// optional error, and an optional gate that blocks calls.
type fakeSeed struct {
	mu      sync.Mutex
	next    byte
	err     error
	short   bool
	calls   atomic.Int64
	gate    chan struct{} // when non-nil, calls block until it is closed or ctx ends
	entered chan struct{} // receives once per blocked call
}

func (f *fakeSeed) seed(ctx context.Context, n int) ([]byte, error) {
	f.calls.Add(1)
	f.mu.Lock()
	gate, entered := f.gate, f.entered
	f.mu.Unlock()
	if gate != nil {
		if entered != nil {
			entered <- struct{}{}
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if f.short {
		n--
	}
	b := make([]byte, n)
	for i := range b {
		f.next++
		b[i] = f.next
	}
	return b, nil
}

func (f *fakeSeed) setErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func newTestReader(t *testing.T, cfg Config) *Reader {
	t.Helper()
	r, err := NewReader(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestNewReaderErrors(t *testing.T) {
	errSource := errors.New("broker down")
	tests := []struct {
		name string
		cfg  func(f *fakeSeed) Config
		want error
	}{
		{"fail/no_seed", func(*fakeSeed) Config { return Config{} }, ErrConfig},
		{"fail/negative_interval", func(f *fakeSeed) Config {
			return Config{Seed: f.seed, ReseedInterval: -time.Second}
		}, ErrConfig},
		{"fail/reseed_requests_too_large", func(f *fakeSeed) Config {
			return Config{Seed: f.seed, ReseedRequests: MaxReseedInterval + 1}
		}, ErrConfig},
		{"fail/seed_error", func(f *fakeSeed) Config {
			f.err = errSource
			return Config{Seed: f.seed}
		}, errSource},
		{"fail/short_seed", func(f *fakeSeed) Config {
			f.short = true
			return Config{Seed: f.seed}
		}, ErrSeed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(context.Background(), tt.cfg(&fakeSeed{}))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if r != nil {
				t.Fatal("Reader returned with error")
			}
		})
	}
	t.Run("fail/canceled_context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f := &fakeSeed{}
		if _, err := NewReader(ctx, Config{Seed: f.seed}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestReaderMatchesDRBG checks the Reader is the DRBG seeded with the
// SeedFunc's first 48 + 16 bytes, and that large reads split at 64 KiB.
func TestReaderMatchesDRBG(t *testing.T) {
	f := &fakeSeed{}
	r := newTestReader(t, Config{Seed: f.seed, ReseedInterval: time.Hour, Personalization: []byte("p")})
	got := make([]byte, 2*MaxBytesPerRequest+10)
	if n, err := r.Read(got); err != nil || n != len(got) {
		t.Fatalf("Read = %d, %v", n, err)
	}

	ref := &fakeSeed{}
	entropy, _ := ref.seed(context.Background(), SeedEntropyBytes)
	nonce, _ := ref.seed(context.Background(), SeedNonceBytes)
	d, err := NewHMACDRBG(entropy, nonce, []byte("p"))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, len(got))
	for off := 0; off < len(want); off += MaxBytesPerRequest {
		if err := d.Generate(want[off:min(off+MaxBytesPerRequest, len(want))], nil); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatal("Reader output differs from the DRBG in 64 KiB requests")
	}
}

func TestReaderReseedLimit(t *testing.T) {
	f := &fakeSeed{}
	r := newTestReader(t, Config{Seed: f.seed, ReseedInterval: time.Hour, ReseedRequests: 3})
	buf := make([]byte, 32)
	for i := range 3 {
		if _, err := r.Read(buf); err != nil {
			t.Fatalf("read %d: %v", i+1, err)
		}
	}
	f.setErr(errors.New("seed source down"))
	if err := r.Reseed(context.Background()); !errors.Is(err, ErrSeed) {
		t.Fatalf("Reseed = %v, want ErrSeed", err)
	}
	n, err := r.Read(buf)
	if !errors.Is(err, ErrReseedRequired) || n != 0 || !bytes.Equal(buf, make([]byte, 32)) {
		t.Fatalf("Read past the limit = %d, %v (buf zeroed: %v)", n, err, bytes.Equal(buf, make([]byte, 32)))
	}
	s := r.Stats()
	if s.Healthy || s.ReseedFailures != 1 || s.ConsecutiveFailures != 1 {
		t.Fatalf("stats = %+v", s)
	}

	f.setErr(nil)
	if err := r.Reseed(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(buf); err != nil {
		t.Fatalf("Read after reseed: %v", err)
	}
	if s := r.Stats(); !s.Healthy || s.Reseeds != 1 || s.ConsecutiveFailures != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestReaderSplitCountsRequests(t *testing.T) {
	f := &fakeSeed{}
	// A read of 64 KiB + 1 is two generate requests.
	r := newTestReader(t, Config{Seed: f.seed, ReseedInterval: time.Hour, ReseedRequests: 2})
	if _, err := r.Read(make([]byte, MaxBytesPerRequest+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, ErrReseedRequired) {
		t.Fatalf("err = %v", err)
	}
}

func TestReaderBackgroundReseed(t *testing.T) {
	f := &fakeSeed{}
	r := newTestReader(t, Config{Seed: f.seed, ReseedInterval: 2 * time.Millisecond})
	waitFor(t, "two background reseeds", func() bool { return r.Stats().Reseeds >= 2 })
	if s := r.Stats(); !s.Healthy || s.LastReseed.IsZero() {
		t.Fatalf("stats = %+v", s)
	}
}

func TestReaderBackgroundFailuresKeepServing(t *testing.T) {
	f := &fakeSeed{}
	r := newTestReader(t, Config{Seed: f.seed, ReseedInterval: 2 * time.Millisecond, RetryBackoff: time.Millisecond})
	f.setErr(errors.New("seed source down"))
	waitFor(t, "three failed reseeds", func() bool { return r.Stats().ReseedFailures >= 3 })
	if _, err := r.Read(make([]byte, 64)); err != nil {
		t.Fatalf("Read while reseeds fail: %v", err)
	}
	if s := r.Stats(); !s.Healthy || s.ConsecutiveFailures < 3 {
		t.Fatalf("stats = %+v", s)
	}
	f.setErr(nil)
	waitFor(t, "recovery", func() bool { return r.Stats().Reseeds >= 1 })
}

func TestReaderHealthFailureMarksUnhealthy(t *testing.T) {
	f := &fakeSeed{}
	r := newTestReader(t, Config{Seed: f.seed, ReseedInterval: time.Hour})
	f.setErr(ErrHealthTest)
	if err := r.Reseed(context.Background()); !errors.Is(err, ErrHealthTest) {
		t.Fatalf("err = %v", err)
	}
	if r.Stats().Healthy {
		t.Fatal("Healthy after a health-test failure")
	}
	if _, err := r.Read(make([]byte, 8)); err != nil {
		t.Fatalf("Read still serves from the current state: %v", err)
	}
}

func TestReadNeverBlocksOnSeed(t *testing.T) {
	f := &fakeSeed{}
	r := newTestReader(t, Config{Seed: f.seed, ReseedInterval: time.Millisecond, SeedTimeout: time.Hour})
	f.mu.Lock()
	f.gate = make(chan struct{})
	f.entered = make(chan struct{}, 1)
	f.mu.Unlock()
	<-f.entered // the background reseed is now blocked inside the SeedFunc
	for range 100 {
		if _, err := r.Read(make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	}
	// Close cancels the blocked SeedFunc through its context.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReaderClose(t *testing.T) {
	f := &fakeSeed{}
	r := newTestReader(t, Config{Seed: f.seed})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := r.Reseed(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reseed after Close: %v", err)
	}
	if r.Stats().Healthy {
		t.Fatal("Healthy after Close")
	}
	if !isZero(r.drbg.k) || !isZero(r.drbg.v) {
		t.Fatal("state not wiped")
	}
	select {
	case <-r.done:
	default:
		t.Fatal("goroutine still running")
	}
}

func TestReaderSeedFunc(t *testing.T) {
	f := &fakeSeed{}
	r := newTestReader(t, Config{Seed: f.seed, ReseedInterval: time.Hour})
	seed := r.SeedFunc()
	a, err := seed(context.Background(), 48)
	if err != nil || len(a) != 48 {
		t.Fatalf("seed = %d bytes, %v", len(a), err)
	}
	b, _ := seed(context.Background(), 48)
	if bytes.Equal(a, b) {
		t.Fatal("two seeds are equal")
	}
	for _, n := range []int{0, -1, MaxSeedBytes + 1} {
		if _, err := seed(context.Background(), n); !errors.Is(err, ErrSeed) {
			t.Fatalf("n=%d: err = %v", n, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := seed(ctx, 8); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: err = %v", err)
	}
	// A plugin Reader seeded from the root Reader.
	child := newTestReader(t, Config{Seed: seed, ReseedInterval: time.Hour})
	if _, err := child.Read(make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
}

func TestReaderConcurrent(t *testing.T) {
	f := &fakeSeed{}
	r := newTestReader(t, Config{Seed: f.seed, ReseedInterval: time.Millisecond})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 100)
			for range 200 {
				if _, err := r.Read(buf); err != nil {
					t.Error(err)
					return
				}
				_ = r.Stats()
			}
		}()
	}
	wg.Wait()
}
