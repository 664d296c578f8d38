// Package sandbox starts a process confined to the files it needs, with
// Landlock (Linux 5.13 and later, no privileges needed). The daemon uses it
// to launch plugins: every plugin runs as the daemon's user, so without it
// a compromised plugin could read another plugin's keys or the daemon's
// own data.
//
// The confinement is applied by the launching process to the one thread
// that forks the child, just before the fork; the child inherits it and
// cannot lift it, whatever binary it is. The launching process itself is
// not confined: that thread is discarded afterwards, and the Go runtime
// never clones new threads from a thread locked to a goroutine. The thread
// stays parked while the child runs, because the kernel sends a child's
// parent-death signal (Pdeathsig) when the thread that forked it ends.
package sandbox

import (
	"errors"
	"os/exec"
)

// ErrUnsupported reports a kernel (or platform) without Landlock.
var ErrUnsupported = errors.New("sandbox: Landlock is not available")

// Policy lists what a confined process may touch. Everything else on the
// file system is refused, beyond what Landlock leaves alone (see Start).
type Policy struct {
	// Read are files or directories (with everything below them) the
	// process may read and execute.
	Read []string
	// Write are files or directories the process may read, write, create
	// and remove entries in, and execute.
	Write []string
	// Optional paths in Read and Write are skipped when they do not exist;
	// a missing path not listed here is an error.
	Optional map[string]bool
	// ConnectTCP are the TCP ports the process may connect to (Landlock
	// ABI 4 and later); every other TCP connect, and every TCP bind, is
	// refused. Sockets the process inherited keep working.
	ConnectTCP []uint16
}

// ABI reports the Landlock ABI version the kernel offers, or
// ErrUnsupported.
func ABI() (int, error) { return abi() }

// Start starts cmd confined by p: file system access (Landlock ABI 1–5
// rights) limited to p, no new privileges (set-user-ID binaries do not
// elevate), on ABI 4 and later no TCP bind and no TCP connect but to
// p.ConnectTCP, and on ABI 6 and later no signals to, and no abstract unix
// sockets of, processes outside the confinement. UDP and connections to
// unix sockets by path are not restricted. It returns ErrUnsupported,
// without starting cmd, when the kernel lacks Landlock.
//
// Call release once cmd has exited (after cmd.Wait): it lets the thread
// that forked the process end.
func Start(cmd *exec.Cmd, p Policy) (release func(), err error) { return start(cmd, p) }
