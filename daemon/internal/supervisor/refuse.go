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
	tl, ok := m.ln.(*net.TCPListener)
	if !ok {
		return
	}
	_ = tl.SetDeadline(time.Time{})
	stop, done := make(chan struct{}), make(chan struct{})
	m.refuseStop, m.refuseDone = stop, done
	go func() {
		defer close(done)
		for {
			c, err := tl.Accept()
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					select {
					case <-stop:
						return
					default:
						_ = tl.SetDeadline(time.Time{})
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
	}()
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
	if tl, ok := m.ln.(*net.TCPListener); ok {
		_ = tl.SetDeadline(time.Now())
	}
	<-m.refuseDone
	if tl, ok := m.ln.(*net.TCPListener); ok {
		_ = tl.SetDeadline(time.Time{})
	}
	m.refuseStop, m.refuseDone = nil, nil
}
