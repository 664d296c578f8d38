package plugintest

import (
	"errors"

	"github.com/aunsorm/aunsorm/sdk/pluginhost"
)

// Errors returned by this package; test with errors.Is.
var (
	// ErrOptions: the Options are incomplete or inconsistent.
	ErrOptions = errors.New("plugintest: invalid options")
	// ErrUnhealthy: the plugin did not report healthy after Configure.
	ErrUnhealthy = errors.New("plugintest: plugin did not become healthy")
	// ErrNonconformant: the plugin breaks a rule of the conformance suite.
	ErrNonconformant = errors.New("plugintest: plugin does not conform")
	// ErrInvalidAuditEvent: the plugin sent an audit event the daemon would
	// refuse (the SDK's pluginhost.ErrInvalidAuditEvent).
	ErrInvalidAuditEvent = pluginhost.ErrInvalidAuditEvent
)
