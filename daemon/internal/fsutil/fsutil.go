// Package fsutil holds the daemon's durable file writes.
package fsutil

import (
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces path with data, with the given mode, so that a
// crash leaves either the old file or the whole new one: a fresh temporary
// file in the same directory (never a stale one someone may have left with
// looser permissions), chmod before any byte is written, fsync, rename,
// then fsync of the directory so the rename itself is durable.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
