package logbuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// sink records each Write call separately.
type sink struct {
	mu     sync.Mutex
	writes []string
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, string(p))
	return len(p), nil
}

func (s *sink) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

func (s *sink) all() string { return strings.Join(s.get(), "") }

func TestInfoLinesAreBatched(t *testing.T) {
	s := &sink{}
	w := New(s, time.Hour)
	log := zerolog.New(w)
	for i := range 10 {
		log.Info().Int("i", i).Msg("request")
	}
	if got := s.get(); len(got) != 0 {
		t.Fatalf("info lines written before the interval: %q", got)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got := s.get()
	if len(got) != 1 || strings.Count(got[0], "\n") != 10 {
		t.Fatalf("want the 10 lines in one write, got %d writes: %q", len(got), got)
	}
}

func TestTimerFlushes(t *testing.T) {
	s := &sink{}
	w := New(s, 5*time.Millisecond)
	log := zerolog.New(w)
	log.Info().Msg("late")
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.all(), "late"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the buffered line was never written")
		}
	}
	// The next line arms a new timer.
	log.Info().Msg("later")
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.all(), "later"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a line after the first batch was never written")
		}
	}
}

func TestWarningsGoOutAtOnceInOrder(t *testing.T) {
	s := &sink{}
	w := New(s, time.Hour)
	log := zerolog.New(w)
	log.Info().Msg("one")
	log.Debug().Msg("two")
	log.Warn().Msg("three")
	log.Info().Msg("four")
	log.Error().Msg("five")
	want := []string{"one", "two", "three", "four", "five"}
	out := s.all()
	last := -1
	for _, m := range want {
		i := strings.Index(out, `"message":"`+m+`"`)
		if i < 0 || i < last {
			t.Fatalf("%q missing or out of order in %q", m, out)
		}
		last = i
	}
	// A line with no level (log.Log()) is not urgent.
	log.Log().Msg("plain")
	if strings.Contains(s.all(), "plain") {
		t.Fatal("a line without a level was written at once")
	}
}

func TestLimitFlushes(t *testing.T) {
	s := &sink{}
	w := New(s, time.Hour)
	line := []byte(strings.Repeat("x", 1000) + "\n")
	n := Limit/len(line) + 1
	for range n {
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	got := s.get()
	if len(got) != 1 || len(got[0]) > Limit || len(got[0])%len(line) != 0 {
		t.Fatalf("want one write of whole lines up to %d bytes, got %d writes", Limit, len(got))
	}
	// A line larger than the limit goes out whole, after what was buffered.
	big := append(bytes.Repeat([]byte("y"), Limit+10), '\n')
	if _, err := w.Write(big); err != nil {
		t.Fatal(err)
	}
	got = s.get()
	if len(got) != 3 || got[2] != string(big) || strings.Count(got[1], "\n") != 1 {
		t.Fatalf("big line: %d writes", len(got))
	}
}

func TestZeroIntervalWritesEachLine(t *testing.T) {
	s := &sink{}
	log := zerolog.New(New(s, 0))
	log.Info().Msg("a")
	log.Info().Msg("b")
	if got := s.get(); len(got) != 2 {
		t.Fatalf("want 2 writes, got %q", got)
	}
}

func TestCloseFlushesAndStopsBatching(t *testing.T) {
	s := &sink{}
	w := New(s, time.Hour)
	log := zerolog.New(w)
	log.Info().Msg("before")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.all(), "before") {
		t.Fatal("Close did not flush")
	}
	log.Info().Msg("after")
	if !strings.Contains(s.all(), "after") {
		t.Fatal("a line after Close was buffered")
	}
}

func TestConcurrentLinesStayWhole(t *testing.T) {
	s := &sink{}
	w := New(s, time.Millisecond)
	log := zerolog.New(w)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				log.Info().Str("id", fmt.Sprintf("%d-%d", g, i)).Msg("request")
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(s.all(), "\n"), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		var g, i int
		if _, err := fmt.Sscanf(l, `{"level":"info","id":"%d-%d","message":"request"}`, &g, &i); err != nil {
			t.Fatalf("torn line %q: %v", l, err)
		}
		seen[l] = true
	}
	if len(lines) != 8*500 || len(seen) != 8*500 {
		t.Fatalf("%d lines, %d distinct; want %d", len(lines), len(seen), 8*500)
	}
}
