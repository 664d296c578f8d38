package config

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
)

// pluginHash digests the settings that define a running plugin: command,
// args, sha256 pin, listen, env and the raw config body. The name is the
// block's identity and is not included. Every field is length-prefixed so
// distinct settings cannot encode to the same bytes.
func pluginHash(pl *Plugin) string {
	h := sha256.New()
	writeField(h, []byte(pluginHashDomainSeparator))
	writeField(h, []byte(pl.Command))
	writeCount(h, len(pl.Args))
	for _, a := range pl.Args {
		writeField(h, []byte(a))
	}
	writeField(h, []byte(pl.SHA256))
	writeField(h, []byte(pl.Listen))
	keys := sortedKeys(pl.Env)
	writeCount(h, len(keys))
	for _, k := range keys {
		writeField(h, []byte(k))
		writeField(h, []byte(pl.Env[k]))
	}
	writeField(h, pl.ConfigBody)
	sv := pl.Supervision
	writeField(h, fmt.Appendf(nil, "%d/%d/%d/%d/%d/%d/%d", sv.HealthInterval, sv.HealthTimeout, sv.HealthFailures,
		sv.MaxCrashes, sv.CrashWindow, sv.BackoffMax, sv.DrainTimeout))
	writeField(h, []byte(pl.Sandbox.Mode))
	for _, paths := range [][]string{pl.Sandbox.Read, pl.Sandbox.Write} {
		writeCount(h, len(paths))
		for _, s := range paths {
			writeField(h, []byte(s))
		}
	}
	writeField(h, fmt.Append(nil, pl.Sandbox.Connect))
	if pl.User != "" || pl.Group != "" { // hashes of blocks without them stay as they were
		writeField(h, []byte(pl.User))
		writeField(h, []byte(pl.Group))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeCount(h hash.Hash, n int) {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(n))
	h.Write(buf[:])
}

func writeField(h hash.Hash, b []byte) {
	writeCount(h, len(b))
	h.Write(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
