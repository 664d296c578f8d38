package plugin

import "errors"

// Errors returned by this package; test with errors.Is.
var (
	// ErrDigestMismatch: the plugin binary does not match its pinned sha256.
	ErrDigestMismatch = errors.New("plugin: binary sha256 mismatch")
	// ErrLaunch: the plugin process could not be started or handshaked.
	ErrLaunch = errors.New("plugin: launch failed")
	// ErrProtocol: the plugin speaks an unsupported protocol or misdescribes itself.
	ErrProtocol = errors.New("plugin: protocol error")
	// ErrConfig: the plugin rejected its configuration.
	ErrConfig = errors.New("plugin: configuration rejected")
	// ErrNotServed: the process was not launched by aunsormd.
	ErrNotServed = errors.New("plugin: not launched by aunsormd")
	// ErrAlreadyConfigured: Configure was called twice.
	ErrAlreadyConfigured = errors.New("plugin: already configured")
	// ErrServiceNotDeclared: the plugin called a host service it did not declare.
	ErrServiceNotDeclared = errors.New("plugin: host service not declared")
	// ErrUnavailable: the other side is not reachable.
	ErrUnavailable = errors.New("plugin: unavailable")
	// ErrNoStore: Env.OpenStore was called where no store can be opened
	// (validate-only, or neither storage nor a data directory given).
	ErrNoStore = errors.New("plugin: no store available")
)
