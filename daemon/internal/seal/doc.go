// Package seal holds the daemon's root sealing key ring and derives each
// plugin's sealing keys from it (the barrier of docs/security.md).
//
// The ring is a set of 32-byte root keys, each with a version; the highest
// version is current. Its text form, the same in the key file, the
// environment variable and the systemd credential, is one entry per line:
//
//	# comments and blank lines are ignored
//	1:<base64 (RFC 4648 §4, padded) of 32 bytes>
//	2:<...>
//
// A plugin instance never sees a root key: on every Configure the supervisor
// hands it, for each root version, HKDF-SHA-256 (RFC 5869) of that root key
// with a fixed salt and, as info, the purpose and the instance name, length
// prefixed (see PluginKey). sdk/seal seals with those keys.
//
// Rotation (Rotate, `aunsormd seal rotate`) appends a version to the key
// file under an exclusive lock and replaces the file atomically
// (daemon/internal/fsutil: fsynced temporary file, rename, fsynced
// directory), so a crash at any point leaves the old ring or the new one,
// never a partial one. The supervisor reads the ring again each time it
// starts a plugin, so a plugin picks up a new version on its next start
// (hot swap, reload, restart or relaunch).
package seal
