//go:build !linux

package config

import (
	"errors"
	"os"
)

func currentUID() int { return os.Geteuid() }
func currentGID() int { return os.Getegid() }

func switchIDsCheck() error { return errors.New("plugins run as another user on Linux only") }
