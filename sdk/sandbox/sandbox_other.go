//go:build !linux

package sandbox

import "os/exec"

func abi() (int, error) { return 0, ErrUnsupported }

func start(*exec.Cmd, Policy) (*Confinement, error) { return nil, ErrUnsupported }
