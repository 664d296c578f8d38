//go:build !unix

package seal

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockFile only prepares the directory where flock is not available: on
// such systems the operator must not run two rotations at once.
func lockFile(path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return func() {}, nil
}
