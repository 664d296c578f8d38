package rng

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// scriptedSource plays good bytes for the first goodBytes, then a stuck
// value: a noise source that breaks after start-up.
type scriptedSource struct {
	mu        sync.Mutex
	good      []byte
	goodBytes int
	served    int
	err       error
}

func (s *scriptedSource) read(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	n := min(len(b), 7) // exercise short reads
	for i := range n {
		if s.served < s.goodBytes {
			b[i] = s.good[s.served%len(s.good)]
		} else {
			b[i] = 0x5a
		}
		s.served++
	}
	return n, nil
}

func TestNewNative(t *testing.T) {
	if runtime.GOOS != "linux" {
		_, err := NewNative(context.Background(), NativeConfig{})
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("err = %v, want ErrUnsupported", err)
		}
		t.Skip("getrandom is Linux-only")
	}
	r, err := NewNative(context.Background(), NativeConfig{ReseedInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a, b := make([]byte, 32), make([]byte, 32)
	if _, err := r.Read(a); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(b); err != nil {
		t.Fatal(err)
	}
	if string(a) == string(b) {
		t.Fatal("two reads are equal")
	}
	if err := r.Reseed(context.Background()); err != nil {
		t.Fatalf("Reseed from the OS: %v", err)
	}
	if s := r.Stats(); !s.Healthy || s.Reseeds != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestNativeHealth(t *testing.T) {
	good := goodSource(1 << 16)
	t.Run("fail/stuck_at_startup", func(t *testing.T) {
		src := &scriptedSource{good: good, goodBytes: 100}
		_, err := newNative(context.Background(), NativeConfig{}, src.read)
		if !errors.Is(err, ErrHealthTest) {
			t.Fatalf("err = %v, want ErrHealthTest", err)
		}
	})
	t.Run("fail/read_error", func(t *testing.T) {
		src := &scriptedSource{err: errors.New("EIO")}
		_, err := newNative(context.Background(), NativeConfig{}, src.read)
		if !errors.Is(err, ErrSeed) {
			t.Fatalf("err = %v, want ErrSeed", err)
		}
	})
	t.Run("fail/stuck_after_startup", func(t *testing.T) {
		// Good for start-up (1024) and instantiation (48 + 16), then stuck.
		src := &scriptedSource{good: good, goodBytes: StartupSamples + SeedEntropyBytes + SeedNonceBytes}
		r, err := newNative(context.Background(), NativeConfig{ReseedInterval: time.Hour}, src.read)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if !r.Stats().Healthy {
			t.Fatal("unhealthy before the failure")
		}
		err = r.Reseed(context.Background())
		if !errors.Is(err, ErrHealthTest) || !errors.Is(err, ErrSeed) {
			t.Fatalf("Reseed = %v, want ErrSeed wrapping ErrHealthTest", err)
		}
		if r.Stats().Healthy {
			t.Fatal("Healthy after a health-test failure")
		}
		// The failure is latched: the source stays failed.
		if err := r.Reseed(context.Background()); !errors.Is(err, ErrHealthTest) {
			t.Fatalf("second Reseed = %v", err)
		}
		// Reads continue from the state seeded by healthy entropy.
		if _, err := r.Read(make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	})
}
