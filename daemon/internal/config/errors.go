package config

import "errors"

// ErrInvalid is wrapped by the error [Err] returns when a configuration has
// error diagnostics.
var ErrInvalid = errors.New("config: invalid configuration")
