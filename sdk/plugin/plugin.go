// Package plugin is how an Aunsorm plugin is written and launched.
//
// A plugin author implements Plugin and calls Serve from main:
//
//	func main() { plugin.Serve(&myPlugin{}) }
//
// Serve speaks the versioned plugin protocol (sdk/proto/pluginv1) to the
// daemon over hashicorp/go-plugin's gRPC protocol with automatic mutual TLS;
// the plugin's end of it is the SDK's own, so a plugin binary does not link
// go-plugin. On Configure the SDK
// dials the daemon's host services over the go-plugin broker, seeds the
// plugin's own SP 800-90A DRBG (sdk/rng) from the daemon's entropy service,
// follows the daemon's signed clock (sdk/clock) and serves the handler the
// plugin returns on the listener the daemon passed in, behind the fail-closed
// calibration middleware (sdk/calibration).
//
// The host side, which starts and drives plugin processes, is
// sdk/pluginhost; a plugin binary does not link it.
package plugin

import (
	"context"
	"io"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/clock"
	"github.com/aunsorm/aunsorm/sdk/internal/protocol"
	"github.com/aunsorm/aunsorm/sdk/seal"
)

// ProtocolVersion is the plugin protocol version this SDK speaks.
const ProtocolVersion = protocol.Version

// VersionHeader names the plugin and its version on every response the
// plugin serves ("aunsorm-crypto/1.2.0"), so clients and operators can see
// which implementation answered, e.g. across a hot swap.
const VersionHeader = "X-Aunsorm-Plugin"

// CallerHeader names the calling plugin on a peer request (Host.Peer). The
// daemon sets it and the gateway removes it from clients' requests, so on a
// request that came through the daemon it names a plugin; the plugin's own
// TCP port drops it (see Serve).
const CallerHeader = "X-Aunsorm-Caller"

// Host service names a plugin declares in Descriptor.HostServices. The
// daemon refuses calls to a service the plugin did not declare.
const (
	ServiceEntropy     = "entropy"
	ServiceAttestation = "attestation"
	ServiceAudit       = "audit"
	ServicePeer        = "peer"
	ServiceTopology    = "topology"
)

// Descriptor is what a plugin says about itself.
type Descriptor struct {
	// Name is the plugin's kind-specific name, e.g. "aunsorm-crypto".
	Name string
	// Kind is the service kind, e.g. "crypto", "pqc".
	Kind string
	// Version is the plugin's own version string.
	Version string
	// Routes are the path prefixes the gateway forwards to the plugin, each
	// starting and ending with '/', e.g. "/crypto/".
	Routes []string
	// Capabilities are free-form strings such as "aead:AES-256-GCM".
	Capabilities []string
	// HostServices lists the host services the plugin calls. Entropy and
	// attestation are always used by the SDK and need not be listed.
	HostServices []string
}

// Plugin is implemented by every plugin.
type Plugin interface {
	// Describe returns the plugin's descriptor; it must not do I/O.
	Describe() Descriptor
	// Configure decodes env.Config and returns the HTTP handler for the
	// plugin's routes. When env.ValidateOnly is set it must only decode and
	// check the configuration and return (nil, err), with no side effects.
	// Configuration problems are returned as the error from Config.Decode
	// (or a *ConfigError) so the operator sees file:line:col diagnostics.
	Configure(ctx context.Context, env *Env) (http.Handler, error)
}

// HealthChecker is implemented by plugins that have dependencies to check
// (a database, a peer). A non-nil error makes the plugin unhealthy.
type HealthChecker interface {
	CheckHealth(ctx context.Context) error
}

// Closer is implemented by plugins that hold resources to release once the
// HTTP server has drained.
type Closer interface {
	Close(ctx context.Context) error
}

// Env is everything the daemon hands a plugin on Configure.
type Env struct {
	// Config is the plugin's own `config { ... }` block from the operator's HCL.
	Config *Config
	// ValidateOnly is set by `aunsormd config validate`: decode, check, return.
	ValidateOnly bool
	// InstanceName is the block label the operator gave the plugin.
	InstanceName string
	// DataDir is the directory the plugin keeps its state in (created 0700).
	DataDir string
	// Rand is the plugin's DRBG, seeded and reseeded by the daemon. Draw
	// every key, nonce, id and serial from it. Nil when ValidateOnly.
	Rand io.Reader
	// Clock tracks the daemon's signed time. Nil when ValidateOnly.
	Clock *clock.Tracker
	// Auditor appends events to the daemon's audit log (HostServices
	// must list ServiceAudit). Nil when ValidateOnly.
	Auditor Auditor
	// Peers calls other plugins' APIs through the daemon (ServicePeer).
	// Nil when ValidateOnly.
	Peers PeerCaller
	// Topology lists the plugins the daemon runs (ServiceTopology). Nil
	// when ValidateOnly.
	Topology TopologyReader
	// Host is the daemon's host services in one handle; Auditor, Peers and
	// Topology are it, narrowed. Keep the narrow interfaces in the plugin's
	// own types, so its tests can substitute them. Nil when ValidateOnly.
	Host *Host
	// Sealer seals the secrets the plugin keeps at rest under keys derived
	// for this instance only, one per root key version (sdk/seal). Nil when
	// ValidateOnly or when the host sent no sealing keys.
	Sealer *seal.Sealer
	// Logger writes JSON to stderr, which the daemon folds into its log.
	Logger zerolog.Logger

	// storage is the daemon's storage block as it applies to this
	// instance; store.OpenPlugin opens it.
	storage Storage
}
