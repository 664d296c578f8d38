package seal

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
)

// childEnv makes the test binary a rotation loop (see TestMain).
const childEnv = "AUNSORM_SEAL_TEST_ROTATE_LOOP"

// TestMain turns the test binary into a child that rotates the key file
// named by childEnv forever, printing each new version once it is durable,
// for TestRotateKill9.
func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		c := config.Seal{Source: config.SealFile, KeyFile: path}
		for {
			r, err := Rotate(c, rand.Reader)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Println(r.Current())
		}
	}
	os.Exit(m.Run())
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.keys")
	open := filepath.Join(dir, "open.keys")
	bad := filepath.Join(dir, "bad.keys")
	creds := filepath.Join(dir, "creds")
	for path, text := range map[string]string{good: "1:" + seqKey, open: "1:" + seqKey, bad: "1:nope", filepath.Join(creds, "seal"): "2:" + seqKey} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(open, 0o640); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		c       config.Seal
		env     map[string]string
		current uint32
		want    error
	}{
		{"ok/file", config.Seal{Source: config.SealFile, KeyFile: good}, nil, 1, nil},
		{"ok/env", config.Seal{Source: config.SealEnv, KeyEnv: "K"}, map[string]string{"K": "3:" + seqKey}, 3, nil},
		{"ok/credential", config.Seal{Source: config.SealCredential, Credential: "seal"}, map[string]string{"CREDENTIALS_DIRECTORY": creds}, 2, nil},
		{"fail/file-missing", config.Seal{Source: config.SealFile, KeyFile: filepath.Join(dir, "none")}, nil, 0, fs.ErrNotExist},
		{"fail/file-group-readable", config.Seal{Source: config.SealFile, KeyFile: open}, nil, 0, ErrExposed},
		{"fail/file-malformed", config.Seal{Source: config.SealFile, KeyFile: bad}, nil, 0, ErrMalformed},
		{"fail/file-is-dir", config.Seal{Source: config.SealFile, KeyFile: dir}, nil, 0, ErrMalformed},
		{"fail/env-unset", config.Seal{Source: config.SealEnv, KeyEnv: "K"}, nil, 0, ErrMissing},
		{"fail/env-malformed", config.Seal{Source: config.SealEnv, KeyEnv: "K"}, map[string]string{"K": "1:" + seqKey[:10]}, 0, ErrMalformed},
		{"fail/no-credentials-directory", config.Seal{Source: config.SealCredential, Credential: "seal"}, nil, 0, ErrMissing},
		{"fail/credential-missing", config.Seal{Source: config.SealCredential, Credential: "other"}, map[string]string{"CREDENTIALS_DIRECTORY": creds}, 0, fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Load(tc.c, env(tc.env))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Load error = %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), seqKey[:10]) {
				t.Fatalf("the error quotes key material: %v", err)
			}
			if err == nil && r.Current() != tc.current {
				t.Fatalf("current %d, want %d", r.Current(), tc.current)
			}
		})
	}
}

func TestLoadOrCreateAndRotate(t *testing.T) {
	c := config.Seal{Source: config.SealFile, KeyFile: filepath.Join(t.TempDir(), "seal", "root.keys")}
	r1, created, err := LoadOrCreate(c, env(nil), rand.Reader)
	if err != nil || !created || r1.Current() != 1 {
		t.Fatalf("first start: %v, created=%v, %v", r1, created, err)
	}
	st, err := os.Stat(c.KeyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v, %v", st.Mode(), err)
	}
	if dst, _ := os.Stat(filepath.Dir(c.KeyFile)); dst.Mode().Perm() != 0o700 {
		t.Fatalf("key directory mode %v", dst.Mode())
	}
	again, created, err := LoadOrCreate(c, env(nil), rand.Reader)
	if err != nil || created || string(again.marshalSecret()) != string(r1.marshalSecret()) {
		t.Fatalf("second start did not load the same ring: created=%v, %v", created, err)
	}
	r2, err := Rotate(c, rand.Reader)
	if err != nil || !slices.Equal(r2.Versions(), []uint32{1, 2}) {
		t.Fatalf("Rotate: %v, %v", r2, err)
	}
	loaded, err := Load(c, env(nil))
	if err != nil || string(loaded.marshalSecret()) != string(r2.marshalSecret()) {
		t.Fatalf("Load after Rotate: %v", err)
	}
	k1, _ := r1.PluginKey(1, "kms", PluginPurpose)
	k1after, _ := loaded.PluginKey(1, "kms", PluginPurpose)
	if string(k1) != string(k1after) {
		t.Fatal("rotation changed version 1")
	}

	t.Run("fail/not-rotatable", func(t *testing.T) {
		if _, err := Rotate(config.Seal{Source: config.SealEnv, KeyEnv: "K"}, rand.Reader); !errors.Is(err, ErrNotRotatable) {
			t.Fatalf("Rotate env = %v", err)
		}
	})
	t.Run("fail/rotate-missing-file", func(t *testing.T) {
		if _, err := Rotate(config.Seal{Source: config.SealFile, KeyFile: filepath.Join(t.TempDir(), "x")}, rand.Reader); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Rotate of a missing file = %v", err)
		}
	})
	t.Run("fail/exposed-file-not-replaced", func(t *testing.T) {
		if err := os.Chmod(c.KeyFile, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(c.KeyFile, 0o600)
		if _, _, err := LoadOrCreate(c, env(nil), rand.Reader); !errors.Is(err, ErrExposed) {
			t.Fatalf("LoadOrCreate on a 0644 file = %v", err)
		}
		if _, err := Rotate(c, rand.Reader); !errors.Is(err, ErrExposed) {
			t.Fatalf("Rotate on a 0644 file = %v", err)
		}
	})
}

// TestRotateKill9 kills a process that rotates the key file in a loop, at
// a random point of a rotation, again and again: every time, the file must
// still parse, hold every version the child reported as done, and hold
// every key seen before unchanged.
func TestRotateKill9(t *testing.T) {
	c := config.Seal{Source: config.SealFile, KeyFile: filepath.Join(t.TempDir(), "seal", "root.keys")}
	if _, _, err := LoadOrCreate(c, env(nil), rand.Reader); err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]string{} // version → derived key, as a stand-in for the root key
	record := func(r *Ring) {
		for _, v := range r.Versions() {
			k, err := r.PluginKey(v, "probe", PluginPurpose)
			if err != nil {
				t.Fatal(err)
			}
			if old, ok := seen[v]; ok && old != string(k) {
				t.Fatalf("version %d changed its key", v)
			}
			seen[v] = string(k)
		}
	}
	const rounds = 40
	for i := range rounds {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"="+c.KeyFile)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let the child finish 1..3 rotations, then kill it a random
		// moment into the next one.
		want := 1 + randInt(t, 3)
		lines := bufio.NewScanner(out)
		var reported uint32
		for n := 0; n < want && lines.Scan(); n++ {
			v, err := strconv.ParseUint(lines.Text(), 10, 32)
			if err != nil {
				t.Fatalf("child said %q", lines.Text())
			}
			reported = uint32(v)
		}
		time.Sleep(time.Duration(randInt(t, 3000)) * time.Microsecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if reported == 0 {
			t.Fatalf("round %d: the child reported no rotation", i)
		}
		r, err := Load(c, env(nil))
		if err != nil {
			t.Fatalf("round %d: after kill -9 the key file does not load: %v", i, err)
		}
		if r.Current() < reported {
			t.Fatalf("round %d: the child reported version %d done, the file holds %v", i, reported, r.Versions())
		}
		if vs := r.Versions(); len(vs) != int(r.Current()) {
			t.Fatalf("round %d: versions %v are not contiguous: one was lost", i, vs)
		}
		record(r)
	}
}

func randInt(t *testing.T, n int64) int {
	b, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		t.Fatal(err)
	}
	return int(b.Int64())
}
