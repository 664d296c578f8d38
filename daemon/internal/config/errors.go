package config

import "errors"

// ErrInvalid is wrapped by the error [Err] returns when a configuration has
// error diagnostics.
var ErrInvalid = errors.New("config: invalid configuration")

// ErrAdminToken is wrapped by [ReadAdminToken]'s errors: the admin token
// file is missing, readable by group or others, or holds a token that is
// too short or too long. The error never quotes the token.
var ErrAdminToken = errors.New("admin token file")
