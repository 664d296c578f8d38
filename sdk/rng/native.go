package rng

import (
	"context"
	"fmt"
	"os"
	"time"
)

// NativeConfig configures the daemon's root random source.
type NativeConfig struct {
	// ReseedInterval is the time between background reseeds from the OS;
	// 0 means DefaultReseedInterval.
	ReseedInterval time.Duration
}

// NewNative returns AunsormNativeRng, the daemon's root source: a Reader
// whose SeedFunc draws raw bytes from the operating system with getrandom(2)
// and passes every byte through the SP 800-90B continuous health tests
// (HealthTester, DefaultMinEntropyPerByte) before it reaches the DRBG. The
// §4.3 start-up test runs over StartupSamples bytes at construction (those
// bytes are discarded). A later health-test failure makes every seed call
// fail with an error wrapping ErrHealthTest and turns Stats().Healthy false.
//
// Plugins do not call NewNative: the daemon hands each of them seeds drawn
// from this Reader (Reader.SeedFunc) and they run NewReader.
func NewNative(ctx context.Context, cfg NativeConfig) (*Reader, error) {
	return newNative(ctx, cfg, osRead)
}

// newNative is NewNative over an injectable raw source (tests).
func newNative(ctx context.Context, cfg NativeConfig, read func([]byte) (int, error)) (*Reader, error) {
	src := &osSource{read: read, health: NewHealthTester(DefaultMinEntropyPerByte)}
	startup := make([]byte, StartupSamples)
	err := src.fill(startup)
	if err == nil {
		err = src.health.Startup(startup)
	}
	clear(startup)
	if err != nil {
		return nil, fmt.Errorf("native source: %w", err)
	}
	pers := fmt.Appendf(nil, "aunsorm/native-rng pid=%d t=%d", os.Getpid(), time.Now().UnixNano())
	return NewReader(ctx, Config{
		Seed:            src.seed,
		ReseedInterval:  cfg.ReseedInterval,
		Personalization: pers,
	})
}

// osSource is the raw noise source: the OS getrandom output, health-tested.
type osSource struct {
	read   func([]byte) (int, error)
	health *HealthTester
}

// seed is the SeedFunc of the native Reader.
func (s *osSource) seed(ctx context.Context, n int) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if err := s.fill(b); err != nil {
		return nil, err
	}
	if err := s.health.Feed(b); err != nil {
		clear(b)
		return nil, err
	}
	return b, nil
}

// fill reads len(b) raw bytes, looping over short reads.
func (s *osSource) fill(b []byte) error {
	for off := 0; off < len(b); {
		n, err := s.read(b[off:])
		if err != nil {
			return fmt.Errorf("%w: getrandom: %w", ErrSeed, err)
		}
		if n <= 0 {
			return fmt.Errorf("%w: getrandom returned no bytes", ErrSeed)
		}
		off += n
	}
	return nil
}
