package pluginhost

import (
	"os"
	"sync"
	"syscall"
)

// DigestCache remembers binary digests by file identity (device, inode,
// size, modification and change times), so relaunching an unchanged binary
// does not hash tens of megabytes again. Replacing the file (new inode) or
// writing to it (new mtime/ctime; ctime cannot be set from user space)
// misses the cache. The zero value is ready; it is safe for concurrent use.
type DigestCache struct {
	mu sync.Mutex
	m  map[fileID]string
}

type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

func identify(path string) (fileID, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return fileID{}, false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(sys.Dev), ino: sys.Ino, size: st.Size(),
		mtime: sys.Mtim.Nano(), ctime: sys.Ctim.Nano()}, true
}

// Digest returns the hex SHA-256 of the file at path, from the cache when
// the file is unchanged.
func (c *DigestCache) Digest(path string) (string, error) {
	if c == nil {
		return FileDigest(path)
	}
	id, ok := identify(path)
	if ok {
		c.mu.Lock()
		d, hit := c.m[id]
		c.mu.Unlock()
		if hit {
			return d, nil
		}
	}
	d, err := FileDigest(path)
	if err != nil {
		return "", err
	}
	// Only cache when the identity did not change while hashing.
	if after, ok2 := identify(path); ok && ok2 && after == id {
		c.mu.Lock()
		if c.m == nil {
			c.m = map[fileID]string{}
		}
		c.m[id] = d
		c.mu.Unlock()
	}
	return d, nil
}
