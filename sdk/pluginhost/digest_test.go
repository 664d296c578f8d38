package pluginhost

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDigestCache(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bin")
	write := func(s string) {
		t.Helper()
		tmp := p + ".new"
		if err := os.WriteFile(tmp, []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}
	var c DigestCache
	write("one")
	d1, err := c.Digest(p)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := FileDigest(p); d1 != want {
		t.Fatalf("digest %s, want %s", d1, want)
	}
	if again, _ := c.Digest(p); again != d1 {
		t.Fatal("cache changed an unchanged file's digest")
	}
	t.Run("fail/replaced-file-misses", func(t *testing.T) {
		write("two")
		if d, _ := c.Digest(p); d == d1 {
			t.Fatal("a replaced file returned the old digest")
		}
	})
	t.Run("fail/in-place-write-misses", func(t *testing.T) {
		before, _ := c.Digest(p)
		time.Sleep(10 * time.Millisecond) // a distinct mtime/ctime
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteAt([]byte("X"), 0)
		f.Close()
		if d, _ := c.Digest(p); d == before {
			t.Fatal("an in-place write returned the old digest")
		}
	})
	t.Run("ok/nil-cache-hashes", func(t *testing.T) {
		var nc *DigestCache
		if d, err := nc.Digest(p); err != nil || d == "" {
			t.Fatalf("nil cache: %q %v", d, err)
		}
	})
}
