package pluginhost

import "errors"

// Errors returned by this package; test with errors.Is. A rejected
// configuration, a protocol error or an unreachable plugin wrap the
// sdk/plugin errors of the same names (plugin.ErrConfig, …).
var (
	// ErrDigestMismatch: the plugin binary does not match its pinned sha256.
	ErrDigestMismatch = errors.New("plugin: binary sha256 mismatch")
	// ErrLaunch: the plugin process could not be started or handshaked.
	ErrLaunch = errors.New("plugin: launch failed")
)
