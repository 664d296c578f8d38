package rng

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Defaults for Config.
const (
	// DefaultReseedInterval is how often a Reader reseeds in the background.
	DefaultReseedInterval = 5 * time.Minute
	// DefaultRetryBackoff is the first retry delay after a failed background
	// reseed; it doubles on each further failure, up to the reseed interval.
	DefaultRetryBackoff = time.Second
	// DefaultSeedTimeout bounds each background call of the SeedFunc.
	DefaultSeedTimeout = 30 * time.Second
	// SeedEntropyBytes is the entropy input a Reader draws from its
	// SeedFunc to instantiate and at each reseed (384 bits: 1.5 times the
	// security strength, as SP 800-90A suggests when the nonce is drawn
	// separately).
	SeedEntropyBytes = 48
	// SeedNonceBytes is the nonce a Reader draws at instantiation.
	SeedNonceBytes = 16
	// MaxSeedBytes is the most one call of Reader.SeedFunc hands out.
	MaxSeedBytes = MaxBytesPerRequest
)

// SeedFunc returns n bytes of seed material: fresh entropy from the OS (see
// NewNative) or, in a plugin, from the daemon's Entropy host service. It
// must honour ctx and return exactly n bytes or an error.
type SeedFunc func(ctx context.Context, n int) ([]byte, error)

// Config configures a Reader.
type Config struct {
	// Seed supplies entropy for instantiation and every reseed. Required.
	Seed SeedFunc
	// ReseedInterval is the time between background reseeds; 0 means
	// DefaultReseedInterval.
	ReseedInterval time.Duration
	// Personalization is the SP 800-90A personalization string: not secret,
	// but it should differ between instances (e.g. plugin name and id).
	Personalization []byte
	// ReseedRequests is how many generate requests (one per started 64 KiB
	// of a Read) the DRBG serves between successful reseeds before Read
	// refuses; 0 means the SP 800-90A maximum, 2^48.
	ReseedRequests uint64
	// RetryBackoff is the first retry delay after a failed background
	// reseed; 0 means DefaultRetryBackoff.
	RetryBackoff time.Duration
	// SeedTimeout bounds each background SeedFunc call; 0 means
	// DefaultSeedTimeout.
	SeedTimeout time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.Seed == nil {
		return c, fmt.Errorf("%w: Seed is required", ErrConfig)
	}
	if c.ReseedInterval < 0 || c.RetryBackoff < 0 || c.SeedTimeout < 0 {
		return c, fmt.Errorf("%w: negative duration", ErrConfig)
	}
	if c.ReseedRequests > MaxReseedInterval {
		return c, fmt.Errorf("%w: ReseedRequests above 2^48", ErrConfig)
	}
	if c.ReseedInterval == 0 {
		c.ReseedInterval = DefaultReseedInterval
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.SeedTimeout == 0 {
		c.SeedTimeout = DefaultSeedTimeout
	}
	return c, nil
}

// Stats are a Reader's counters, for metrics and /health.
type Stats struct {
	// Reseeds counts successful reseeds since instantiation.
	Reseeds uint64
	// ReseedFailures counts failed reseed attempts (SeedFunc errors).
	ReseedFailures uint64
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures uint64
	// LastReseed is when the DRBG was last (re)seeded successfully.
	LastReseed time.Time
	// Healthy is false once the Reader is closed, once reads are refused
	// because the reseed limit passed without a successful reseed, or while
	// the entropy source reports a health-test failure (ErrHealthTest).
	Healthy bool
}

// Reader is a goroutine-safe io.Reader over an HMAC_DRBG (SHA-512) that
// reseeds itself in the background from a SeedFunc. Read never returns fewer
// bytes than asked without an error, and never waits for the SeedFunc: a
// failed reseed is counted and retried with backoff while reads continue
// from the current state, until the DRBG's own reseed limit
// (Config.ReseedRequests) is reached, after which Read fails rather than run
// on a stale seed.
type Reader struct {
	cfg Config

	mu           sync.Mutex
	drbg         *HMACDRBG // secret state, guarded by mu
	closed       bool
	sourceFailed bool // last seed attempt failed a health test
	stats        Stats

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

var (
	_ io.Reader = (*Reader)(nil)
	_ io.Closer = (*Reader)(nil)
)

// NewReader runs SelfTest, instantiates the DRBG with SeedEntropyBytes of
// entropy and a SeedNonceBytes nonce from cfg.Seed, and starts the
// background reseed goroutine. ctx bounds the initial seeding; the
// goroutine lives until Close.
func NewReader(ctx context.Context, cfg Config) (*Reader, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := SelfTest(); err != nil {
		return nil, err
	}
	r := &Reader{cfg: cfg}
	entropy, err := r.fetch(ctx, SeedEntropyBytes)
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	defer clear(entropy)
	nonce, err := r.fetch(ctx, SeedNonceBytes)
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	defer clear(nonce)
	d, err := NewHMACDRBG(entropy, nonce, cfg.Personalization)
	if err != nil {
		return nil, err
	}
	if cfg.ReseedRequests != 0 {
		if err := d.SetReseedInterval(cfg.ReseedRequests); err != nil {
			d.Wipe()
			return nil, err
		}
	}
	r.drbg = d
	r.stats.LastReseed = time.Now()

	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	r.done = make(chan struct{})
	go r.loop(bg)
	return r, nil
}

// Read fills p with pseudorandom bytes. Requests above MaxBytesPerRequest
// are split. On error p is zeroed and n is 0: output is all or nothing.
func (r *Reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, ErrClosed
	}
	for off := 0; off < len(p); {
		end := min(off+MaxBytesPerRequest, len(p))
		if err := r.drbg.Generate(p[off:end], nil); err != nil {
			clear(p)
			if errors.Is(err, ErrReseedRequired) {
				return 0, fmt.Errorf("%w: no successful reseed within %d requests", err, r.drbg.reseedInterval)
			}
			return 0, err
		}
		off = end
	}
	return len(p), nil
}

// Reseed draws fresh entropy from the SeedFunc now and reseeds. It blocks
// the caller (not readers) for the SeedFunc call.
func (r *Reader) Reseed(ctx context.Context) error {
	return r.reseed(ctx)
}

// SeedFunc returns a SeedFunc drawing from r: the daemon hands each plugin
// its seed this way, so every plugin DRBG is seeded from the root Reader.
// One call returns at most MaxSeedBytes.
func (r *Reader) SeedFunc() SeedFunc {
	return func(ctx context.Context, n int) ([]byte, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if n <= 0 || n > MaxSeedBytes {
			return nil, fmt.Errorf("%w: %d seed bytes requested, want 1..%d", ErrSeed, n, MaxSeedBytes)
		}
		b := make([]byte, n)
		if _, err := r.Read(b); err != nil {
			return nil, err
		}
		return b, nil
	}
}

// Stats returns the current counters.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Healthy = !r.closed && !r.sourceFailed && !r.drbg.ReseedRequired()
	return s
}

// Close stops the reseed goroutine and wipes the DRBG state. Reads after
// Close fail with ErrClosed. Close is idempotent and always returns nil.
func (r *Reader) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.drbg.Wipe()
		r.mu.Unlock()
		r.cancel()
		<-r.done
	})
	return nil
}

// loop reseeds every ReseedInterval; after a failure it retries after
// RetryBackoff, doubling up to ReseedInterval.
func (r *Reader) loop(ctx context.Context) {
	defer close(r.done)
	backoff := r.cfg.RetryBackoff
	timer := time.NewTimer(r.cfg.ReseedInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		sctx, cancel := context.WithTimeout(ctx, r.cfg.SeedTimeout)
		err := r.reseed(sctx)
		cancel()
		switch {
		case errors.Is(err, ErrClosed):
			return
		case err != nil:
			timer.Reset(backoff)
			backoff = min(2*backoff, r.cfg.ReseedInterval)
		default:
			backoff = r.cfg.RetryBackoff
			timer.Reset(r.cfg.ReseedInterval)
		}
	}
}

func (r *Reader) reseed(ctx context.Context) error {
	entropy, err := r.fetch(ctx, SeedEntropyBytes) // without the lock: reads go on
	defer clear(entropy)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if err == nil {
		err = r.drbg.Reseed(entropy, nil)
	}
	if err != nil {
		r.stats.ReseedFailures++
		r.stats.ConsecutiveFailures++
		r.sourceFailed = errors.Is(err, ErrHealthTest)
		return fmt.Errorf("reseed: %w", err)
	}
	r.stats.Reseeds++
	r.stats.ConsecutiveFailures = 0
	r.stats.LastReseed = time.Now()
	r.sourceFailed = false
	return nil
}

// fetch calls the SeedFunc and checks it returned exactly n bytes.
func (r *Reader) fetch(ctx context.Context, n int) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSeed, err)
	}
	b, err := r.cfg.Seed(ctx, n)
	if err != nil {
		clear(b)
		return nil, fmt.Errorf("%w: %w", ErrSeed, err)
	}
	if len(b) != n {
		clear(b)
		return nil, fmt.Errorf("%w: got %d bytes, want %d", ErrSeed, len(b), n)
	}
	return b, nil
}
