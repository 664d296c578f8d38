package supervisor

import (
	"errors"
	"net"
	"os"
	"time"
)

// startRefusing makes the daemon accept and immediately close connections
// on the plugin's socket while no plugin process is there to do it (during
// a relaunch backoff or once marked failed). The gateway then sees a reset
// at once and answers 503 instead of waiting in the kernel's accept queue
// until the upstream deadline.
func (m *Managed) startRefusing() {
	m.refuseMu.Lock()
	defer m.refuseMu.Unlock()
	if m.refuseStop != nil {
		return
	}
	stop := make(chan struct{})
	var dones []chan struct{}
	for _, ln := range m.sockets() {
		_ = ln.SetDeadline(time.Time{})
		done := make(chan struct{})
		dones = append(dones, done)
		go refuse(ln, stop, done)
	}
	m.refuseStop, m.refuseDone = stop, dones
}

// deadliner is the part of *net.TCPListener and *net.UnixListener used here.
type deadliner interface {
	net.Listener
	SetDeadline(time.Time) error
}

// sockets returns the daemon's handles on the plugin's sockets.
func (m *Managed) sockets() []deadliner {
	var out []deadliner
	for _, ln := range []net.Listener{m.ln, m.local} {
		if d, ok := ln.(deadliner); ok && ln != nil {
			out = append(out, d)
		}
	}
	return out
}

// refuse accepts and immediately closes connections until stop.
func refuse(ln deadliner, stop, done chan struct{}) {
	defer close(done)
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				select {
				case <-stop:
					return
				default:
					_ = ln.SetDeadline(time.Time{})
					continue
				}
			}
			return // listener closed
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST: the client learns at once
		}
		_ = c.Close()
	}
}

// stopRefusing ends startRefusing before a plugin process takes the socket
// again.
func (m *Managed) stopRefusing() {
	m.refuseMu.Lock()
	defer m.refuseMu.Unlock()
	if m.refuseStop == nil {
		return
	}
	close(m.refuseStop)
	socks := m.sockets()
	for _, ln := range socks {
		_ = ln.SetDeadline(time.Now())
	}
	for _, d := range m.refuseDone {
		<-d
	}
	for _, ln := range socks {
		_ = ln.SetDeadline(time.Time{})
	}
	m.refuseStop, m.refuseDone = nil, nil
}
