package attest

import "errors"

// ErrRemote: the remote attestor is misconfigured or answered badly.
var ErrRemote = errors.New("attest: remote authority")

// ErrNTP: no NTP server gave a valid answer.
var ErrNTP = errors.New("attest: ntp")
