package protocol

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errorCodes maps the package's sentinel errors to gRPC codes, both ways.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{ErrConfig, codes.InvalidArgument},
	{ErrAlreadyConfigured, codes.FailedPrecondition},
	{ErrServiceNotDeclared, codes.PermissionDenied},
	{ErrProtocol, codes.Unimplemented},
	{ErrUnavailable, codes.Unavailable},
}

// ToStatus converts an error to a gRPC status error, keeping the sentinel
// recognisable on the other side via FromStatus.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return status.Error(m.code, err.Error())
		}
	}
	return status.Error(codes.Internal, err.Error())
}

// FromStatus converts a gRPC error back into an error wrapping the matching
// sentinel (or ErrUnavailable for transport failures).
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, m := range errorCodes {
		if st.Code() == m.code {
			return &wireError{sentinel: m.err, msg: st.Message()}
		}
	}
	if st.Code() == codes.Canceled || st.Code() == codes.DeadlineExceeded {
		return &wireError{sentinel: ErrUnavailable, msg: st.Message()}
	}
	return errors.New(st.Message())
}

type wireError struct {
	sentinel error
	msg      string
}

func (e *wireError) Error() string { return e.msg }
func (e *wireError) Unwrap() error { return e.sentinel }
