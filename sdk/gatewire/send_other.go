//go:build !unix

package gatewire

import "syscall"

// rawWrite is not used where descriptors are not plain ints: the write
// then reports EAGAIN and Send finishes it with the connection's Write.
func rawWrite(uintptr, []byte) (int, error) { return 0, syscall.EAGAIN }
