package rng

import (
	"fmt"
	"math"
	"sync"
)

// Continuous health tests on raw noise-source samples, NIST SP 800-90B §4.4,
// for non-binary (byte) samples.
const (
	// HealthAlpha is the false-positive probability each test is sized
	// for: alpha = 2^-20 (SP 800-90B §4.4 recommends 2^-20 <= alpha <= 2^-40).
	HealthAlpha = 1.0 / (1 << 20)
	// APTWindow is the Adaptive Proportion Test window for non-binary
	// samples (SP 800-90B §4.4.2: W = 512).
	APTWindow = 512
	// StartupSamples is how many samples the start-up test (SP 800-90B
	// §4.3) runs both tests over before the source may be used.
	StartupSamples = 1024
	// DefaultMinEntropyPerByte is the min-entropy per byte this package
	// assesses for the operating system's getrandom(2) output.
	//
	// getrandom returns the output of the kernel's cryptographic RNG, which
	// would justify a full 8 bits per byte; we claim only H = 6 so that the
	// tests below alarm on sources that are clearly broken (stuck, heavily
	// biased) while a healthy source almost never trips them. With H = 6
	// and alpha = 2^-20:
	//
	//	Repetition Count Test (§4.4.1):
	//	  C = 1 + ceil(-log2(alpha) / H) = 1 + ceil(20 / 6) = 1 + 4 = 5
	//	  (five identical bytes in a row fail; for uniform bytes that happens
	//	  with probability 2^-32 per sample.)
	//
	//	Adaptive Proportion Test (§4.4.2), W = 512:
	//	  C = 1 + CRITBINOM(W, 2^-H, 1 - alpha)
	//	    = 1 + CRITBINOM(512, 1/64, 1 - 2^-20) = 1 + 24 = 25
	//	  (the first byte of a window seen 25 or more times among its 512
	//	  bytes fails; P[Binomial(511, 1/64) >= 24] ~= 8.9e-7 <= 2^-20.)
	//
	// NewHealthTester computes both cutoffs from H with the same formulas;
	// for H = 1, 2, 4, 8 its APT cutoffs are the 311, 177, 62, 13 of SP
	// 800-90B Table 2.
	DefaultMinEntropyPerByte = 6.0
)

// HealthTester runs the SP 800-90B Repetition Count Test and Adaptive
// Proportion Test continuously over raw noise-source bytes (before any
// conditioning or DRBG). A failure is latched: once a test has failed every
// later Feed fails too, because the source can no longer be trusted.
// A HealthTester is safe for concurrent use.
type HealthTester struct {
	h         float64 // assessed min-entropy per byte
	rctCutoff int
	aptCutoff int

	mu      sync.Mutex
	started bool
	failed  error

	// Repetition Count Test state.
	rctValue byte
	rctCount int
	rctInit  bool
	// Adaptive Proportion Test state.
	aptValue byte
	aptCount int
	aptSeen  int // samples of the current window consumed (0 = none)
}

// NewHealthTester returns a tester whose cutoffs derive from the assessed
// min-entropy per byte H (0 < H <= 8; other values are clamped into
// [1/64, 8]). Use DefaultMinEntropyPerByte for the OS source.
func NewHealthTester(minEntropyPerByte float64) *HealthTester {
	h := minEntropyPerByte
	if math.IsNaN(h) || h < 1.0/64 {
		h = 1.0 / 64
	}
	if h > 8 {
		h = 8
	}
	return &HealthTester{
		h:         h,
		rctCutoff: rctCutoff(h, HealthAlpha),
		aptCutoff: aptCutoff(APTWindow, h, HealthAlpha),
	}
}

// Cutoffs returns the Repetition Count Test and Adaptive Proportion Test
// cutoffs in use.
func (t *HealthTester) Cutoffs() (rct, apt int) { return t.rctCutoff, t.aptCutoff }

// Startup runs the SP 800-90B §4.3 start-up tests: both continuous tests over
// at least StartupSamples samples, which the caller must then discard. It
// fails with ErrStartupSamples when given fewer, or with an error wrapping
// ErrHealthTest when a test fails.
func (t *HealthTester) Startup(samples []byte) error {
	if len(samples) < StartupSamples {
		return fmt.Errorf("%w: %d, need %d", ErrStartupSamples, len(samples), StartupSamples)
	}
	if err := t.Feed(samples); err != nil {
		return fmt.Errorf("start-up test: %w", err)
	}
	t.mu.Lock()
	t.started = true
	t.mu.Unlock()
	return nil
}

// Started reports whether the start-up test has passed.
func (t *HealthTester) Started() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.started && t.failed == nil
}

// Feed runs both continuous tests over b, sample by sample. It returns nil
// or an error wrapping ErrHealthTest naming the failed test.
func (t *HealthTester) Feed(b []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed != nil {
		return t.failed
	}
	for _, s := range b {
		if err := t.sample(s); err != nil {
			t.failed = err
			return err
		}
	}
	return nil
}

// Err returns the latched failure, or nil while the source is healthy.
func (t *HealthTester) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *HealthTester) sample(s byte) error {
	// Repetition Count Test (§4.4.1).
	if t.rctInit && s == t.rctValue {
		t.rctCount++
		if t.rctCount >= t.rctCutoff {
			return fmt.Errorf("%w: repetition count test: %d identical samples in a row (cutoff %d)",
				ErrHealthTest, t.rctCount, t.rctCutoff)
		}
	} else {
		t.rctValue, t.rctCount, t.rctInit = s, 1, true
	}

	// Adaptive Proportion Test (§4.4.2).
	if t.aptSeen == 0 {
		t.aptValue, t.aptCount, t.aptSeen = s, 1, 1
		return nil
	}
	if s == t.aptValue {
		t.aptCount++
		if t.aptCount >= t.aptCutoff {
			return fmt.Errorf("%w: adaptive proportion test: a value seen %d times in a window of %d (cutoff %d)",
				ErrHealthTest, t.aptCount, APTWindow, t.aptCutoff)
		}
	}
	t.aptSeen++
	if t.aptSeen == APTWindow {
		t.aptSeen = 0
	}
	return nil
}

// rctCutoff is C = 1 + ceil(-log2(alpha) / H) (SP 800-90B §4.4.1).
func rctCutoff(h, alpha float64) int {
	return 1 + int(math.Ceil(-math.Log2(alpha)/h))
}

// aptCutoff is C = 1 + CRITBINOM(W, 2^-H, 1-alpha) (SP 800-90B §4.4.2), where
// CRITBINOM(n, p, q) is the least k with P[Binomial(n, p) <= k] >= q. The
// upper tail is summed directly (P[X > k] <= alpha) to avoid cancellation.
func aptCutoff(w int, h, alpha float64) int {
	p := math.Exp2(-h)
	lgN, _ := math.Lgamma(float64(w + 1))
	pmf := func(k int) float64 {
		a, _ := math.Lgamma(float64(k + 1))
		b, _ := math.Lgamma(float64(w - k + 1))
		return math.Exp(lgN - a - b + float64(k)*math.Log(p) + float64(w-k)*math.Log1p(-p))
	}
	tail := 0.0 // P[X > k]
	k := w
	for ; k > 0; k-- {
		next := tail + pmf(k)
		if next > alpha {
			break
		}
		tail = next
	}
	return 1 + k
}
