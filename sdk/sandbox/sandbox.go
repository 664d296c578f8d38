// Package sandbox starts a process with the least privilege it needs: no
// capabilities, no way to gain any (no_new_privs), a system-call filter
// (seccomp) that refuses what only a host administrator should do,
// optionally another user and group, and its file system and TCP access
// confined with Landlock (Linux 5.13 and later). The daemon uses it to
// launch plugins: without it a compromised plugin could read another
// plugin's keys or the daemon's own data, and, under a root daemon, set the
// host clock or open raw sockets.
//
// The confinement is applied by the launching process to the one thread
// that forks the child, just before the fork: capabilities, credentials,
// no_new_privs, seccomp filters and Landlock domains all belong to a
// thread on Linux. The child inherits them and cannot lift them, whatever
// binary it is. The launching process itself is not confined: that thread
// is discarded afterwards, and the Go runtime never clones new threads from
// a thread locked to a goroutine. The thread stays parked while the child
// runs, because the kernel sends a child's parent-death signal (Pdeathsig)
// when the thread that forked it ends.
package sandbox

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ErrUnsupported reports a kernel (or platform) without Landlock, or a
// platform where Start cannot confine a process at all.
var ErrUnsupported = errors.New("sandbox: Landlock is not available")

// LandlockMode says what Start does about Landlock.
type LandlockMode int

// Landlock modes. The zero value requires Landlock.
const (
	// LandlockRequired confines the process's file system and TCP access to
	// the policy, and fails with ErrUnsupported on a kernel without
	// Landlock, starting nothing.
	LandlockRequired LandlockMode = iota
	// LandlockAuto confines as LandlockRequired does when the kernel can,
	// and otherwise starts the process without Landlock (the rest of the
	// confinement still applies); Confinement.Landlock is then 0.
	LandlockAuto
	// LandlockOff does not use Landlock: Read, Write, Optional and
	// ConnectTCP are ignored.
	LandlockOff
)

// Credential is a user and group a process runs as.
type Credential struct {
	UID, GID uint32
	// Groups are the supplementary groups; none when empty.
	Groups []uint32
}

// Policy says how a process is confined. Whatever it says, the process
// starts with no capabilities (empty effective, permitted, inheritable and
// ambient sets, and an empty bounding set when the launching process may
// empty it), no_new_privs set, and a seccomp filter that refuses setting
// the clock, mounting, tracing, loading kernels and modules, BPF, the
// kernel keyring, reboot, swap and execveat (EPERM).
type Policy struct {
	// Landlock says whether Read, Write and ConnectTCP are enforced.
	Landlock LandlockMode
	// Read are files or directories (with everything below them) the
	// process may read and execute.
	Read []string
	// Write are files or directories the process may read, write, create
	// and remove entries in, but not execute (W^X: a file the process
	// wrote cannot be run with execve).
	Write []string
	// Optional paths in Read and Write are skipped when they do not exist;
	// a missing path not listed here is an error.
	Optional map[string]bool
	// ConnectTCP are the TCP ports the process may connect to (Landlock
	// ABI 4 and later); every other TCP connect, and every TCP bind, is
	// refused. Sockets the process inherited keep working.
	ConnectTCP []uint16
	// Credential, when set, is the user and group the process runs as,
	// with exactly Credential.Groups as supplementary groups. Switching
	// needs CAP_SETUID and CAP_SETGID (a root launcher); without them
	// Start fails. When nil, the process keeps the launcher's user and
	// groups.
	Credential *Credential
}

// denied are the system calls a confined process is refused (EPERM), where
// the machine's architecture has them: setting or adjusting the clock,
// mounting, tracing other processes, loading kernels and kernel modules,
// BPF programs, the kernel keyring, reboot, swap, and running a program
// from a file descriptor (execveat, which would run a memfd the process
// wrote, around Landlock's W^X). System calls of another architecture's
// ABI (i386 on amd64, x32) are refused as a whole.
var denied = []string{
	"clock_settime", "clock_settime64", "settimeofday", "stime", "adjtimex", "clock_adjtime", "clock_adjtime64",
	"mount", "umount", "umount2", "mount_setattr", "move_mount", "open_tree", "open_tree_attr",
	"fsopen", "fsconfig", "fsmount", "fspick", "pivot_root", "chroot",
	"ptrace", "process_vm_readv", "process_vm_writev",
	"kexec_load", "kexec_file_load",
	"init_module", "finit_module", "delete_module",
	"bpf", "keyctl", "add_key", "request_key",
	"reboot", "swapon", "swapoff",
	"execveat",
}

// Confinement is what applies to a process Start started.
type Confinement struct {
	// Landlock is the Landlock ABI the process is confined with, 0 when
	// Landlock does not apply (LandlockOff, or LandlockAuto on a kernel
	// without it).
	Landlock int `json:"landlock_abi"`
	// Seccomp: the seccomp filter applies.
	Seccomp bool `json:"seccomp"`
	// NoNewPrivs: neither set-user-ID bits nor file capabilities elevate
	// the process or its children.
	NoNewPrivs bool `json:"no_new_privs"`
	// Capabilities lists what remains of the five capability sets:
	// "none", or "none, bounding set kept" when the launcher lacked
	// CAP_SETPCAP to empty the bounding set (it then limits nothing: the
	// other sets are empty and no_new_privs keeps them so).
	Capabilities string `json:"capabilities"`
	// UID and GID are the user and group the process runs as.
	UID int `json:"uid"`
	GID int `json:"gid"`

	release func()
}

// String is the confinement in a few words, as `plugin list` shows it.
func (c *Confinement) String() string {
	var parts []string
	if c.Landlock > 0 {
		parts = append(parts, fmt.Sprintf("landlock ABI %d", c.Landlock))
	} else {
		parts = append(parts, "no landlock")
	}
	if c.Seccomp {
		parts = append(parts, "seccomp")
	}
	if c.NoNewPrivs {
		parts = append(parts, "no_new_privs")
	}
	parts = append(parts, "capabilities "+c.Capabilities, fmt.Sprintf("uid %d gid %d", c.UID, c.GID))
	return strings.Join(parts, ", ")
}

// Release lets the thread that forked the process end. Call it once the
// process has exited (after cmd.Wait); calling it more than once is safe.
func (c *Confinement) Release() {
	if c != nil && c.release != nil {
		c.release()
	}
}

// ABI reports the Landlock ABI version the kernel offers, or
// ErrUnsupported.
func ABI() (int, error) { return abi() }

// Start starts cmd confined by p: no capabilities and no way to gain any,
// the seccomp filter, p.Credential's user and group when set,
// and, unless p.Landlock is LandlockOff, file system access (Landlock ABI
// 1–5 rights) limited to p, on ABI 4 and later no TCP bind and no TCP
// connect but to p.ConnectTCP, and on ABI 6 and later no signals to, and
// no abstract unix sockets of, processes outside the confinement. UDP and
// connections to unix sockets by path are not restricted by Landlock.
//
// It returns ErrUnsupported, without starting cmd, when p.Landlock is
// LandlockRequired and the kernel lacks Landlock, and on platforms other
// than Linux. cmd.SysProcAttr must not set Credential (use p.Credential).
//
// Call Release on the result once cmd has exited.
func Start(cmd *exec.Cmd, p Policy) (*Confinement, error) { return start(cmd, p) }
