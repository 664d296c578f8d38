package plugin

import (
	"errors"

	"github.com/aunsorm/aunsorm/sdk/internal/protocol"
)

// Errors returned by this package and by the host side (sdk/pluginhost);
// test with errors.Is. The protocol's errors keep their identity across
// gRPC, so the daemon and a plugin test for the same values.
var (
	// ErrProtocol: the plugin speaks an unsupported protocol or misdescribes itself.
	ErrProtocol = protocol.ErrProtocol
	// ErrConfig: the plugin rejected its configuration.
	ErrConfig = protocol.ErrConfig
	// ErrNotServed: the process was not launched by aunsormd.
	ErrNotServed = errors.New("plugin: not launched by aunsormd")
	// ErrAlreadyConfigured: Configure was called twice.
	ErrAlreadyConfigured = protocol.ErrAlreadyConfigured
	// ErrServiceNotDeclared: the plugin called a host service it did not declare.
	ErrServiceNotDeclared = protocol.ErrServiceNotDeclared
	// ErrUnavailable: the other side is not reachable.
	ErrUnavailable = protocol.ErrUnavailable
	// ErrNoStore: store.OpenPlugin was called where no store can be opened
	// (validate-only, or neither storage nor a data directory given).
	ErrNoStore = errors.New("plugin: no store available")
)
