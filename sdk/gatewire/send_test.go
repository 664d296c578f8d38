package gatewire

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// unixPair returns the two ends of a unix stream connection.
func unixPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func always() bool { return true }

// echoed returns the client end of a unix connection whose other end
// echoes whatever it reads.
func echoed(t testing.TB) net.Conn {
	client, server := unixPair(t)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := server.Read(buf)
			if err != nil {
				return
			}
			if _, err := server.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	return client
}

// Every answer is seen, however soon after the write it arrives: a lost
// wake-up would leave Send waiting until the read deadline.
func TestSenderNeverMissesAnAnswer(t *testing.T) {
	client := echoed(t)
	s := NewSender(client)
	if s.rc == nil {
		t.Fatal("a unix connection should be written through its raw descriptor")
	}
	buf := make([]byte, 64)
	for i := 0; i < 2000; i++ {
		if err := client.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		msg := []byte{'m', byte(i), byte(i >> 8)}
		calls := 0
		n, err := s.Send(msg, func() bool { calls++; return true })
		if n != len(msg) || err != nil || calls != 1 {
			t.Fatalf("round %d: Send = %d, %v with %d calls of sent", i, n, err, calls)
		}
		if _, err := io.ReadFull(client, buf[:len(msg)]); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if !bytes.Equal(buf[:len(msg)], msg) {
			t.Fatalf("round %d: echoed %x, sent %x", i, buf[:len(msg)], msg)
		}
	}
}

// A message larger than the socket takes at once is finished by the
// connection's own write, intact.
func TestSenderLargeMessage(t *testing.T) {
	client, server := unixPair(t)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(msg))
		time.Sleep(20 * time.Millisecond) // let the socket buffer fill
		if _, err := io.ReadFull(server, b); err != nil {
			got <- nil
			return
		}
		got <- b
		server.Write([]byte("ok"))
	}()
	n, err := NewSender(client).Send(msg, always)
	if n != len(msg) || err != nil {
		t.Fatalf("Send = %d, %v", n, err)
	}
	if b := <-got; !bytes.Equal(b, msg) {
		t.Fatal("the peer did not receive the message intact")
	}
}

func TestSenderWaitEndsAtDeadline(t *testing.T) {
	client, _ := unixPair(t)
	client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := NewSender(client).Send([]byte("hello"), always)
	if n != 5 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Send = %d, %v; want 5 and a deadline error", n, err)
	}
}

func TestSenderSkipsTheWait(t *testing.T) {
	client, server := unixPair(t)
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	done := make(chan struct{})
	var n int
	var err error
	go func() {
		n, err = NewSender(client).Send([]byte("hello"), func() bool { return false })
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Send waited although sent returned false")
	}
	if n != 5 || err != nil {
		t.Fatalf("Send = %d, %v", n, err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("peer read %q, %v", buf, err)
	}
}

// Writing to a connection the peer has closed fails as a write: nothing
// (or only part) was sent, and sent is not called.
func TestSenderPeerClosed(t *testing.T) {
	client, server := unixPair(t)
	server.Close()
	called := false
	n, err := NewSender(client).Send([]byte("hello"), func() bool { called = true; return true })
	if err == nil || n == 5 || called {
		t.Fatalf("Send = %d, %v (sent called: %v); want a write error", n, err, called)
	}
}

// A connection without a raw descriptor is written plainly.
func TestSenderPlainConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go io.Copy(io.Discard, b)
	called := false
	n, err := NewSender(a).Send([]byte("hello"), func() bool { called = true; return true })
	if n != 5 || err != nil || !called {
		t.Fatalf("Send = %d, %v (sent called: %v)", n, err, called)
	}
}

// benchRoundTrip times a 256-byte message sent with send and echoed back.
func benchRoundTrip(b *testing.B, send func(c net.Conn, msg []byte) error) {
	client := echoed(b)
	msg := bytes.Repeat([]byte{'x'}, 256)
	buf := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		if err := send(client, msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(client, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSenderRoundTrip(b *testing.B) {
	var s *Sender
	benchRoundTrip(b, func(c net.Conn, msg []byte) error {
		if s == nil {
			s = NewSender(c)
		}
		_, err := s.Send(msg, always)
		return err
	})
}

// The same exchange with a plain write and read, for comparison.
func BenchmarkPlainRoundTrip(b *testing.B) {
	benchRoundTrip(b, func(c net.Conn, msg []byte) error {
		_, err := c.Write(msg)
		return err
	})
}
