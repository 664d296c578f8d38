package gatewire

import (
	"net"
	"syscall"
)

// Sender writes one message on a connection and waits for the answer to
// become readable, so that the caller's next read finds it there.
//
// A plain write followed by a read makes one read attempt that fails at
// once (the peer has not answered yet) before the goroutine parks; on a
// machine where every system call is costly that attempt is a fair share
// of a small exchange. A Sender makes the write from inside the
// connection's raw read loop: the readiness state is reset before the
// write, so an answer arriving at any time after it is never missed.
//
// A Sender belongs to one connection and is used by one goroutine at a
// time; it allocates nothing per message.
type Sender struct {
	c    net.Conn
	rc   syscall.RawConn // nil: plain writes
	step func(fd uintptr) bool

	// One Send's state.
	b      []byte
	n      int
	sent   func() bool
	werr   error
	waited bool
}

// NewSender returns a Sender for c.
func NewSender(c net.Conn) *Sender {
	s := &Sender{c: c}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			s.rc = rc
		}
	}
	s.step = s.stepFD
	return s
}

// Send writes b and, once it is written whole, calls sent and waits until
// the connection has something to read (or its read deadline passes).
//
// It returns how many bytes were written. With n < len(b) the error is
// the write's; with n == len(b) it is the wait's, and sent has been
// called. sent returning false skips the wait. A write the socket does
// not take whole at once is finished with the connection's own Write,
// without the wait.
func (s *Sender) Send(b []byte, sent func() bool) (n int, err error) {
	if s.rc == nil || len(b) == 0 {
		return s.plain(b, 0, sent)
	}
	s.b, s.n, s.sent, s.werr, s.waited = b, 0, sent, nil, false
	err = s.rc.Read(s.step)
	n, werr, waited := s.n, s.werr, s.waited
	s.b, s.sent, s.werr = nil, nil, nil
	switch {
	case werr != nil:
		return n, &net.OpError{Op: "write", Net: s.c.LocalAddr().Network(), Addr: s.c.RemoteAddr(), Err: werr}
	case n < len(b) && err != nil:
		return n, err // the read loop ended (deadline, closed) before the write
	case n < len(b):
		// The socket took part of it: the rest with the connection's
		// own (deadline-aware, parking) write.
		return s.plain(b, n, sent)
	case !waited:
		return n, nil // sent said not to wait
	}
	return n, err
}

// stepFD is the raw read loop's callback: write, then report "not ready"
// once so the loop parks until the connection is readable.
func (s *Sender) stepFD(fd uintptr) bool {
	if s.n == len(s.b) {
		return true // readable (or a stale wake-up: the next read tells)
	}
	for s.n < len(s.b) {
		m, err := rawWrite(fd, s.b[s.n:])
		if m > 0 {
			s.n += m
		}
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			if err != syscall.EAGAIN {
				s.werr = err
			}
			return true
		}
		if m <= 0 {
			return true
		}
	}
	if !s.sent() {
		return true
	}
	s.waited = true
	return false
}

func (s *Sender) plain(b []byte, off int, sent func() bool) (int, error) {
	m, err := s.c.Write(b[off:])
	if err != nil {
		return off + m, err
	}
	sent()
	return len(b), nil
}
