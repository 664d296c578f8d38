//go:build !linux

package rng

// osRead is unavailable off Linux: NewNative fails with ErrUnsupported.
func osRead([]byte) (int, error) { return 0, ErrUnsupported }
