//go:build linux && !386 && !arm

package sandbox

import "golang.org/x/sys/unix"

// The system calls that change or read one thread's credentials.
const (
	sysSetgroups = unix.SYS_SETGROUPS
	sysSetresgid = unix.SYS_SETRESGID
	sysSetresuid = unix.SYS_SETRESUID
	sysGetuid    = unix.SYS_GETUID
	sysGetgid    = unix.SYS_GETGID
)
