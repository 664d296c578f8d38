//go:build linux && (386 || arm)

package sandbox

import "golang.org/x/sys/unix"

// The system calls that change or read one thread's credentials, in their
// 32-bit id versions (the plain ones take 16-bit ids on these machines).
const (
	sysSetgroups = unix.SYS_SETGROUPS32
	sysSetresgid = unix.SYS_SETRESGID32
	sysSetresuid = unix.SYS_SETRESUID32
	sysGetuid    = unix.SYS_GETUID32
	sysGetgid    = unix.SYS_GETGID32
)
