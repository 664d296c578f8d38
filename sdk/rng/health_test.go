package rng

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// goodSource is a deterministic stand-in for a healthy noise source.
func goodSource(n int) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{1, 2, 3}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// biasedSource never repeats a byte twice in a row (so the Repetition Count
// Test stays quiet) but every other byte is zero: half the samples take one
// value, far above what H = 6 allows.
func biasedSource(n int) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{4, 5, 6}))
	b := make([]byte, n)
	for i := 1; i < n; i += 2 {
		b[i] = byte(1 + r.IntN(255))
	}
	return b
}

func TestCutoffs(t *testing.T) {
	// APT cutoffs of SP 800-90B Table 2 (W = 512) and RCT cutoffs from its
	// formula, alpha = 2^-20.
	tests := []struct {
		name     string
		h        float64
		rct, apt int
	}{
		{"ok/h1", 1, 21, 311},
		{"ok/h2", 2, 11, 177},
		{"ok/h4", 4, 6, 62},
		{"ok/h6_default", DefaultMinEntropyPerByte, 5, 25},
		{"ok/h8", 8, 4, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rct, apt := NewHealthTester(tt.h).Cutoffs()
			if rct != tt.rct || apt != tt.apt {
				t.Fatalf("cutoffs = (%d, %d), want (%d, %d)", rct, apt, tt.rct, tt.apt)
			}
		})
	}
}

func TestHealthTester(t *testing.T) {
	tests := []struct {
		name    string
		samples []byte
		want    string // substring naming the failed test; "" = pass
	}{
		{"ok/good_source", goodSource(1 << 16), ""},
		{"fail/stuck_source", fill(0x42, 4096), "repetition count"},
		{"fail/biased_source", biasedSource(4096), "adaptive proportion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHealthTester(DefaultMinEntropyPerByte)
			err := h.Feed(tt.samples)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Feed: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrHealthTest) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrHealthTest (%s)", err, tt.want)
			}
			// Latched: even good samples now fail.
			if err := h.Feed(goodSource(16)); !errors.Is(err, ErrHealthTest) {
				t.Fatalf("after failure Feed = %v", err)
			}
			if h.Err() == nil {
				t.Fatal("Err() = nil after failure")
			}
		})
	}
}

func TestHealthStuckFailsAtCutoff(t *testing.T) {
	h := NewHealthTester(DefaultMinEntropyPerByte)
	rct, _ := h.Cutoffs()
	if err := h.Feed(fill(7, rct-1)); err != nil {
		t.Fatalf("%d repeats: %v", rct-1, err)
	}
	if err := h.Feed([]byte{7}); !errors.Is(err, ErrHealthTest) {
		t.Fatalf("%d repeats: %v", rct, err)
	}
}

func TestHealthStartup(t *testing.T) {
	t.Run("ok/good", func(t *testing.T) {
		h := NewHealthTester(DefaultMinEntropyPerByte)
		if err := h.Startup(goodSource(StartupSamples)); err != nil {
			t.Fatal(err)
		}
		if !h.Started() {
			t.Fatal("Started = false")
		}
	})
	t.Run("fail/too_few_samples", func(t *testing.T) {
		h := NewHealthTester(DefaultMinEntropyPerByte)
		if err := h.Startup(goodSource(StartupSamples - 1)); !errors.Is(err, ErrStartupSamples) {
			t.Fatalf("err = %v", err)
		}
		if h.Started() {
			t.Fatal("Started = true")
		}
	})
	t.Run("fail/biased", func(t *testing.T) {
		h := NewHealthTester(DefaultMinEntropyPerByte)
		if err := h.Startup(biasedSource(StartupSamples)); !errors.Is(err, ErrHealthTest) {
			t.Fatalf("err = %v", err)
		}
		if h.Started() {
			t.Fatal("Started = true")
		}
	})
}

func TestNewHealthTesterClamps(t *testing.T) {
	for _, h := range []float64{-1, 0, 100} {
		rct, apt := NewHealthTester(h).Cutoffs()
		if rct < 2 || apt < 2 || apt > APTWindow+1 {
			t.Fatalf("H=%v: cutoffs (%d, %d)", h, rct, apt)
		}
	}
}
