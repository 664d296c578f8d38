package seal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/fsutil"
)

// Load reads the ring from the configured source and never creates one:
// the key file (which must not be readable by group or others), the
// environment variable c.KeyEnv read through getenv, or the credential
// file in $CREDENTIALS_DIRECTORY. Errors name the source, never the key.
func Load(c config.Seal, getenv func(string) string) (*Ring, error) {
	switch c.Source {
	case config.SealEnv:
		v := getenv(c.KeyEnv)
		if v == "" {
			return nil, fmt.Errorf("%w: environment variable %s is not set", ErrMissing, c.KeyEnv)
		}
		r, err := Parse([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("environment variable %s: %w", c.KeyEnv, err)
		}
		return r, nil
	case config.SealCredential:
		dir := getenv(config.EnvCredentialsDirectory)
		if dir == "" {
			return nil, fmt.Errorf("%w: $%s is not set (run under systemd with LoadCredential=%s:…)", ErrMissing, config.EnvCredentialsDirectory, c.Credential)
		}
		// systemd owns the credential's mode and directory (a private,
		// non-swappable mount): only its presence and content are checked.
		return readRing(filepath.Join(dir, c.Credential), false)
	case config.SealFile, "":
		return readRing(c.KeyFile, true)
	default:
		return nil, fmt.Errorf("seal: unknown source %q", c.Source)
	}
}

// LoadOrCreate is Load, except that with the file source a missing key
// file is created (0600, in a 0700 directory) with a fresh version-1 key
// drawn from rand. It reports whether it created the file.
func LoadOrCreate(c config.Seal, getenv func(string) string, rand io.Reader) (*Ring, bool, error) {
	if c.Source != config.SealFile && c.Source != "" {
		r, err := Load(c, getenv)
		return r, false, err
	}
	unlock, err := lockFile(c.KeyFile)
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	r, err := readRing(c.KeyFile, true)
	if !errors.Is(err, fs.ErrNotExist) {
		return r, false, err
	}
	if r, err = Generate(rand); err != nil {
		return nil, false, err
	}
	if err := writeRing(c.KeyFile, r); err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// Rotate adds a version to the key file: under an exclusive lock (so two
// rotations never lose one another's version) it reads the ring, appends a
// random key one version above the current one, and replaces the file
// atomically. It returns the new ring. Only the file source rotates: the
// operator adds a version to an environment variable or credential
// themselves.
func Rotate(c config.Seal, rand io.Reader) (*Ring, error) {
	if c.Source != config.SealFile && c.Source != "" {
		return nil, fmt.Errorf("%w: the ring comes from the %s source; add a version there", ErrNotRotatable, c.Source)
	}
	unlock, err := lockFile(c.KeyFile)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r, err := readRing(c.KeyFile, true)
	if err != nil {
		return nil, err
	}
	next, err := r.rotated(rand)
	if err != nil {
		return nil, err
	}
	if err := writeRing(c.KeyFile, next); err != nil {
		return nil, err
	}
	return next, nil
}

// readRing reads and parses a ring file; private requires mode 0600 or
// stricter.
func readRing(path string, private bool) (*Ring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrMalformed, path)
	}
	if private && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; chmod 600 it", ErrExposed, path, st.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxRingBytes+1))
	if err != nil {
		return nil, fmt.Errorf("seal: %s: %w", path, err)
	}
	defer clear(data)
	r, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// writeRing replaces path with the ring, durably (see fsutil).
func writeRing(path string, r *Ring) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	data := r.marshalSecret()
	defer clear(data)
	if err := fsutil.WriteFileAtomic(path, data, 0o600); err != nil {
		return fmt.Errorf("seal: write %s: %w", path, err)
	}
	return nil
}
