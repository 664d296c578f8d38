//go:build linux

package rng

import (
	"errors"

	"golang.org/x/sys/unix"
)

// osRead reads raw bytes from the kernel with getrandom(2), blocking only
// until the kernel pool is initialised, and retrying on EINTR.
func osRead(b []byte) (int, error) {
	for {
		n, err := unix.Getrandom(b, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return n, err
	}
}
