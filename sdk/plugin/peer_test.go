package plugin

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/internal/protocol"
)

// unixListener listens on a fresh unix socket in a short temporary path
// (a test's own TempDir can exceed the 108-byte socket path limit).
func unixListener(t *testing.T) net.Listener {
	t.Helper()
	dir, err := os.MkdirTemp("", "sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestPeerListenerKeepsTheDaemon(t *testing.T) {
	ln := newPeerListener(unixListener(t), os.Getpid(), zerolog.Nop())
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if _, err := io.ReadFull(sc, b[:]); err != nil || b[0] != 'x' {
		t.Fatalf("accepted connection does not carry data: %v", err)
	}
}

func TestPeerListenerRefusesOtherProcesses(t *testing.T) {
	// This process is not the one the listener trusts.
	ln := newPeerListener(unixListener(t), os.Getpid()+1, zerolog.Nop())
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("refused connection: read %d, %v; want EOF", n, err)
	}
	select {
	case err := <-accepted:
		t.Fatalf("Accept returned a foreign connection (err %v)", err)
	default:
	}
	ln.Close()
	if err := <-accepted; err == nil {
		t.Fatal("Accept returned no error after Close")
	}
}

func TestDaemonPID(t *testing.T) {
	t.Setenv(protocol.EnvDaemonPID, "4242")
	if got := daemonPID(); got != 4242 {
		t.Fatalf("daemonPID with %s=4242: %d", protocol.EnvDaemonPID, got)
	}
	for _, v := range []string{"", "0", "-3", "12a"} {
		t.Setenv(protocol.EnvDaemonPID, v)
		if got := daemonPID(); got != os.Getppid() {
			t.Fatalf("daemonPID with %s=%q: %d, want the parent %d", protocol.EnvDaemonPID, v, got, os.Getppid())
		}
	}
}
