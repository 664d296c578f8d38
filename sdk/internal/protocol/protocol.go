// Package protocol holds what the plugin side (sdk/plugin) and the host side
// (sdk/pluginhost) of the plugin protocol must agree on: the handshake
// values, the environment the daemon sets for a plugin process, and how the
// SDK's errors cross gRPC.
package protocol

import "errors"

// Version is the plugin protocol version this SDK speaks.
const Version = 1

// The go-plugin handshake values. The magic cookie only stops a user from
// running a plugin binary by hand; it is not a security measure.
const (
	MagicCookieKey   = "AUNSORM_PLUGIN_MAGIC_COOKIE"
	MagicCookieValue = "b1f7a3c5-aunsorm-plugin-v1"
)

// DispenseName is the single go-plugin plugin name in every plugin set.
const DispenseName = "aunsorm"

// Environment variables the daemon sets for the plugin process.
const (
	// EnvListenerFD is the fd of the plugin's TCP listening socket (3).
	EnvListenerFD = "AUNSORM_LISTENER_FD"
	// EnvLocalFD is the fd of the optional unix socket the gateway uses.
	EnvLocalFD = "AUNSORM_LOCAL_LISTENER_FD"
	// EnvParentFD is the read end of the daemon's lifeline pipe.
	EnvParentFD = "AUNSORM_PARENT_FD"
	// EnvDaemonPID names the one process allowed to connect to the unix
	// socket (the launching daemon).
	EnvDaemonPID = "AUNSORM_DAEMON_PID"
)

// Errors that cross the protocol; sdk/plugin exports them under the same
// names, and ToStatus and FromStatus keep them recognisable on both sides.
var (
	// ErrProtocol: the plugin speaks an unsupported protocol or misdescribes itself.
	ErrProtocol = errors.New("plugin: protocol error")
	// ErrConfig: the plugin rejected its configuration.
	ErrConfig = errors.New("plugin: configuration rejected")
	// ErrAlreadyConfigured: Configure was called twice.
	ErrAlreadyConfigured = errors.New("plugin: already configured")
	// ErrServiceNotDeclared: the plugin called a host service it did not declare.
	ErrServiceNotDeclared = errors.New("plugin: host service not declared")
	// ErrUnavailable: the other side is not reachable.
	ErrUnavailable = errors.New("plugin: unavailable")
)
