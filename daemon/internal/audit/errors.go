package audit

import (
	"errors"
	"fmt"

	"github.com/aunsorm/aunsorm/sdk/pluginhost"
)

var (
	// ErrInvalidEvent reports an event that fails validation; nothing was
	// written. It is the SDK's error, so one test serves both sides.
	ErrInvalidEvent = pluginhost.ErrInvalidAuditEvent

	// ErrChainBroken reports a record whose sequence number, PrevHash or Hash
	// does not follow from the records before it. It comes wrapped in a
	// *ChainError carrying the sequence number.
	ErrChainBroken = errors.New("audit: chain broken")

	// ErrLogFull reports that the sequence number cannot grow any further.
	ErrLogFull = errors.New("audit: sequence number exhausted")
)

// ChainError locates the first broken link of the chain. It matches
// ErrChainBroken with errors.Is.
type ChainError struct {
	// Seq is the sequence number at which the chain breaks: the first record
	// that is missing, altered or does not link to its predecessor.
	Seq uint64
	// Reason says what does not match.
	Reason string
}

// Error implements error.
func (e *ChainError) Error() string {
	return fmt.Sprintf("%v at seq %d: %s", ErrChainBroken, e.Seq, e.Reason)
}

// Unwrap returns ErrChainBroken.
func (e *ChainError) Unwrap() error { return ErrChainBroken }
