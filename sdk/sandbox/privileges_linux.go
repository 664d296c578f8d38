package sandbox

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropPrivileges leaves the calling thread with no capabilities: the
// bounding set emptied when the thread may (CAP_SETPCAP), the ambient set
// cleared, cred's user and groups taken when set, then the effective,
// permitted and inheritable sets emptied. It reports whether the bounding
// set is empty. Every call here acts on the calling thread only (the Go
// runtime's syscall.Setuid and friends would change every thread).
func dropPrivileges(cred *Credential) (boundingEmpty bool, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, fmt.Errorf("sandbox: read capabilities: %w", err)
	}
	if data[0].Effective&(1<<unix.CAP_SETPCAP) != 0 {
		for c := 0; c < 64; c++ {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
				if errors.Is(err, unix.EINVAL) {
					break // past the kernel's last capability
				}
				return false, fmt.Errorf("sandbox: drop capability %d from the bounding set: %w", c, err)
			}
		}
	}
	// EINVAL: a kernel before 4.3, which has no ambient set.
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return false, fmt.Errorf("sandbox: clear the ambient capabilities: %w", err)
	}
	if cred != nil {
		if err := switchCredential(*cred); err != nil {
			return false, err
		}
	}
	hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data = [2]unix.CapUserData{}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return false, fmt.Errorf("sandbox: drop capabilities: %w", err)
	}
	return boundingSetEmpty(), nil
}

// switchCredential makes the calling thread cred's user, group and
// supplementary groups: groups first, then the group, then the user, while
// CAP_SETGID and CAP_SETUID are still held.
func switchCredential(cred Credential) error {
	var list unsafe.Pointer
	if len(cred.Groups) > 0 {
		list = unsafe.Pointer(&cred.Groups[0])
	}
	if _, _, errno := unix.RawSyscall(sysSetgroups, uintptr(len(cred.Groups)), uintptr(list), 0); errno != 0 {
		return fmt.Errorf("sandbox: set supplementary groups %v: %w", cred.Groups, errno)
	}
	g := uintptr(cred.GID)
	if _, _, errno := unix.RawSyscall(sysSetresgid, g, g, g); errno != 0 {
		return fmt.Errorf("sandbox: switch to gid %d: %w", cred.GID, errno)
	}
	u := uintptr(cred.UID)
	if _, _, errno := unix.RawSyscall(sysSetresuid, u, u, u); errno != 0 {
		return fmt.Errorf("sandbox: switch to uid %d: %w", cred.UID, errno)
	}
	return nil
}

// boundingSetEmpty reports whether the calling thread's bounding set holds
// no capability.
func boundingSetEmpty() bool {
	for c := 0; c < 64; c++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err != nil {
			break // past the kernel's last capability
		}
		if in == 1 {
			return false
		}
	}
	return true
}

// threadIDs returns the calling thread's user and group ids.
func threadIDs() (uid, gid int) {
	u, _, _ := unix.RawSyscall(sysGetuid, 0, 0, 0)
	g, _, _ := unix.RawSyscall(sysGetgid, 0, 0, 0)
	return int(u), int(g)
}
