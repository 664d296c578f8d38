package pluginrpc

import "errors"

// Errors returned by this package; test with errors.Is.
var (
	// ErrNotLaunched: the process was not started by a go-plugin host
	// (the magic cookie is missing or wrong).
	ErrNotLaunched = errors.New("pluginrpc: not launched by a plugin host")
	// ErrBroker: the host did not announce the requested broker service,
	// or announced an address that cannot be dialled.
	ErrBroker = errors.New("pluginrpc: broker")
	// ErrMessage: a message on the wire is malformed.
	ErrMessage = errors.New("pluginrpc: malformed message")
)
