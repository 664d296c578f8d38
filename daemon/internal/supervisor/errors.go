package supervisor

import "errors"

// Errors returned by this package; test with errors.Is.
var (
	// ErrRouteConflict: two plugins claim the same route prefix.
	ErrRouteConflict = errors.New("supervisor: route conflict")
	// ErrUnhealthy: a plugin did not become healthy in time.
	ErrUnhealthy = errors.New("supervisor: plugin not healthy")
	// ErrListen: a plugin's listener could not be opened.
	ErrListen = errors.New("supervisor: listen")
	// ErrReload: a reload asked for something only a restart can do.
	ErrReload = errors.New("supervisor: reload")
	// ErrUnknownPlugin: no plugin of that name.
	ErrUnknownPlugin = errors.New("supervisor: unknown plugin")
)
