package config

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

func currentUID() int { return os.Geteuid() }
func currentGID() int { return os.Getegid() }

// switchIDsCheck: switching a child's user and group needs CAP_SETUID and
// CAP_SETGID in this process's effective set.
func switchIDsCheck() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	const need = 1<<unix.CAP_SETUID | 1<<unix.CAP_SETGID
	if data[0].Effective&need != need {
		return errors.New("it lacks CAP_SETUID and CAP_SETGID")
	}
	return nil
}
