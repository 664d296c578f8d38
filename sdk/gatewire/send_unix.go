//go:build unix

package gatewire

import "syscall"

func rawWrite(fd uintptr, b []byte) (int, error) { return syscall.Write(int(fd), b) }
