package supervisor

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
)

func TestCrashLoop(t *testing.T) {
	k := config.Supervision{MaxCrashes: 3, CrashWindow: 10 * time.Second}
	// Each step sleeps (fake time) and then records a crash.
	type step struct {
		after  time.Duration
		failed bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"ok/up-to-max-crashes", []step{{0, false}, {time.Second, false}, {time.Second, false}}},
		{"fail/one-over-max", []step{{0, false}, {time.Second, false}, {time.Second, false}, {time.Second, true}}},
		{"fail/burst", []step{{0, false}, {0, false}, {0, false}, {0, true}}},
		{"ok/spaced-by-the-window", []step{{0, false}, {10 * time.Second, false}, {10 * time.Second, false},
			{10 * time.Second, false}, {10 * time.Second, false}, {10 * time.Second, false}}},
		{"ok/old-crashes-expire", []step{{0, false}, {time.Second, false}, {time.Second, false},
			{9 * time.Second, false}, {500 * time.Millisecond, false}}}, // at 11s only the 2s crash is in the window
		{"fail/after-expiry-window-fills-again", []step{{0, false}, {time.Second, false}, {time.Second, false},
			{9 * time.Second, false}, {500 * time.Millisecond, false}, {100 * time.Millisecond, true}}},
		{"ok/just-inside-the-window-counts", []step{{0, false}, {time.Second, false}, {time.Second, false},
			{8*time.Second - time.Nanosecond, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := &Managed{}
				for i, st := range tc.steps {
					time.Sleep(st.after)
					if got := m.crashLoop(k); got != st.failed {
						t.Fatalf("crash %d: crashLoop = %v, want %v", i+1, got, st.failed)
					}
					if len(m.crashes) > k.MaxCrashes+1 {
						t.Fatalf("crash history grows without bound: %d entries", len(m.crashes))
					}
				}
			})
		})
	}
	t.Run("ok/documented-default-five-in-a-minute", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := New(Options{})
			m := addManaged(s, "p")
			k := m.knobs()
			for i := 1; i <= 6; i++ {
				time.Sleep(9 * time.Second)
				if got := m.crashLoop(k); got != (i == 6) {
					t.Fatalf("crash %d after %v: crashLoop = %v", i, time.Duration(i)*9*time.Second, got)
				}
			}
			s.cancel()
		})
	})
}

// listenLoopback returns a Managed owning a fresh loopback listener.
func listenLoopback(t *testing.T) *Managed {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &Managed{name: "p", ln: ln, addr: ln.Addr().String()}
}

// wantRefused dials addr and expects the connection to be closed by the
// daemon (reset or EOF), not left waiting in the accept queue.
func wantRefused(t *testing.T, network, addr string) {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		return // refused at connect: also fine
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	switch {
	case err == nil:
		t.Fatal("read data from a refusing socket")
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatal("connection was left waiting instead of being reset")
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF):
	default:
		t.Fatalf("unexpected read error %v", err)
	}
}

// wantAccepted dials the plugin's TCP address and expects Accept on m.ln
// to take it.
func wantAccepted(t *testing.T, m *Managed) {
	t.Helper()
	wantAcceptedOn(t, m.ln, "tcp", m.addr)
}

// wantAcceptedOn dials addr and expects Accept on ln to take it.
func wantAcceptedOn(t *testing.T, ln net.Listener, network, addr string) {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		got <- c
	}()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var sc net.Conn
	select {
	case sc = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return a connection")
	}
	if sc == nil {
		t.Fatal("Accept failed after stopRefusing")
	}
	defer sc.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	_ = sc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("accepted connection read %q, %v", buf, err)
	}
}

func TestRefusing(t *testing.T) {
	t.Run("ok/refuse-then-accept", func(t *testing.T) {
		m := listenLoopback(t)
		for cycle := 0; cycle < 2; cycle++ {
			m.startRefusing()
			m.startRefusing() // idempotent
			for i := 0; i < 3; i++ {
				wantRefused(t, "tcp", m.addr)
			}
			m.stopRefusing()
			if m.refuseStop != nil || m.refuseDone != nil {
				t.Fatal("stopRefusing left the refusal state set")
			}
			wantAccepted(t, m)
		}
	})
	t.Run("ok/stop-without-start", func(t *testing.T) {
		m := listenLoopback(t)
		m.stopRefusing()
		wantAccepted(t, m)
	})
	t.Run("ok/queued-before-start-are-refused", func(t *testing.T) {
		m := listenLoopback(t)
		c, err := net.Dial("tcp", m.addr) // waits in the accept queue
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		m.startRefusing()
		defer m.stopRefusing()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Read(make([]byte, 1))
		var ne net.Error
		if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
			t.Fatalf("queued connection not refused: %v", err)
		}
	})
	t.Run("ok/listener-closed-while-refusing", func(t *testing.T) {
		m := listenLoopback(t)
		m.startRefusing()
		m.ln.Close()
		done := make(chan struct{})
		go func() { m.stopRefusing(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("stopRefusing hung on a closed listener")
		}
	})
	t.Run("ok/unix-socket-refused-too", func(t *testing.T) {
		m := listenLoopback(t)
		dir, err := os.MkdirTemp("", "sv")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "p.sock")
		local, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer local.Close()
		m.local, m.localPath = local, path
		m.startRefusing()
		wantRefused(t, "unix", path)
		wantRefused(t, "tcp", m.addr)
		m.stopRefusing()
		wantAccepted(t, m)
		wantAcceptedOn(t, local, "unix", path)
	})
}
