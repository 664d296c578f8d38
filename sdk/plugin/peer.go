package plugin

import (
	"errors"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/internal/protocol"
)

// The unix socket is the daemon's way in: a request on it may name the
// calling plugin (CallerHeader), and the callee believes it. Every plugin
// runs as the daemon's user, so file modes cannot keep a sibling plugin
// from connecting to it and posing as any caller. peerListener therefore
// asks the kernel who connected (SO_PEERCRED) and keeps only connections
// from the daemon's own process; everyone else has the TCP port, where the
// field is dropped.

// errPeerUnknown: the platform cannot name the process behind a connection.
var errPeerUnknown = errors.New("peer process unknown on this platform")

// daemonPID is the process allowed on the unix socket: the pid Launch
// passed, else the parent (the daemon starts plugins itself).
func daemonPID() int {
	if pid, err := strconv.Atoi(os.Getenv(protocol.EnvDaemonPID)); err == nil && pid > 0 {
		return pid
	}
	return os.Getppid()
}

type peerListener struct {
	net.Listener
	pid  int
	log  zerolog.Logger
	last atomic.Int64 // unix nanos of the last refusal logged
}

func newPeerListener(ln net.Listener, pid int, log zerolog.Logger) *peerListener {
	return &peerListener{Listener: ln, pid: pid, log: log}
}

// Accept returns the next connection from the daemon's process, closing any
// other at once.
func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		pid, err := peerPID(c)
		if errors.Is(err, errPeerUnknown) || (err == nil && pid == l.pid) {
			return c, nil
		}
		c.Close()
		// A refusal is news once; a flood of them is logged once a second.
		if now := time.Now().UnixNano(); now-l.last.Load() >= int64(time.Second) {
			l.last.Store(now)
			ev := l.log.Warn().Int("daemon_pid", l.pid)
			if err != nil {
				ev = ev.Err(err)
			} else {
				ev = ev.Int("peer_pid", pid)
			}
			ev.Msg("refused a connection to the gateway socket: only the daemon may connect")
		}
	}
}
