// Package apierror is the one JSON error shape every Aunsorm component answers
// with:
//
//	{"error": "<snake_case code>", "error_description": "...", "request_id": "..."}
//
// Handlers return or write an *Error; Write sets the status, the content type
// and the request id taken from the X-Request-Id header. Descriptions are for
// humans and must never carry key material or other secrets.
package apierror

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// RequestIDHeader is the header carrying the request id end to end.
const RequestIDHeader = "X-Request-Id"

// Error is an API error: an HTTP status, a stable snake_case code and a
// human-readable description.
type Error struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description"`
	RequestID   string `json:"request_id,omitempty"`
	// RetryAfter, when positive, is sent as a Retry-After header in seconds.
	RetryAfter int `json:"-"`
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Code + ": " + e.Description }

// New returns an Error with the given status, code and description.
func New(status int, code, description string) *Error {
	return &Error{Status: status, Code: code, Description: description}
}

// Newf is New with a formatted description.
func Newf(status int, code, format string, args ...any) *Error {
	return New(status, code, fmt.Sprintf(format, args...))
}

// Common constructors. Codes are part of the API: never rename one.

// BadRequest is a 400 invalid_request.
func BadRequest(format string, args ...any) *Error {
	return Newf(http.StatusBadRequest, "invalid_request", format, args...)
}

// NotFound is a 404 not_found.
func NotFound(format string, args ...any) *Error {
	return Newf(http.StatusNotFound, "not_found", format, args...)
}

// NoEndpoint is the one 404 every component answers for a path it does not
// serve. It names no part of the request, so nothing a client sent is
// reflected.
func NoEndpoint() *Error {
	return New(http.StatusNotFound, "not_found", "no endpoint at this path")
}

// MethodNotAllowed is a 405 method_not_allowed naming the methods the path
// does allow; WriteMethodNotAllowed also sets the Allow field.
func MethodNotAllowed(method string, allowed ...string) *Error {
	if len(allowed) == 0 {
		return Newf(http.StatusMethodNotAllowed, "method_not_allowed", "method %s is not allowed on this path", method)
	}
	return Newf(http.StatusMethodNotAllowed, "method_not_allowed", "method %s is not allowed on this path; allowed: %s", method, strings.Join(allowed, ", "))
}

// WriteMethodNotAllowed answers 405 with the Allow field and a body that
// names the allowed methods.
func WriteMethodNotAllowed(w http.ResponseWriter, r *http.Request, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	Write(w, r, MethodNotAllowed(r.Method, allowed...))
}

// TooLarge is a 413 request_too_large for a body over limit bytes.
func TooLarge(limit int64) *Error {
	return Newf(http.StatusRequestEntityTooLarge, "request_too_large", "the request body exceeds %d bytes", limit)
}

// Internal is a 500 internal_error with a fixed description, so nothing of
// the underlying failure leaks to the client.
func Internal() *Error {
	return New(http.StatusInternalServerError, "internal_error", "the server could not complete the request")
}

// Unavailable is a 503 with the given code and a Retry-After.
func Unavailable(code, description string, retryAfter int) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: code, Description: description, RetryAfter: retryAfter}
}

// From converts any error to an *Error: an *Error in the chain is returned as
// is, anything else becomes Internal.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal()
}

// Write sends err as the JSON error body. The request id comes from the
// response header X-Request-Id when set, else from the request.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	e := *From(err)
	if e.RequestID == "" {
		e.RequestID = w.Header().Get(RequestIDHeader)
	}
	if e.RequestID == "" && r != nil {
		e.RequestID = r.Header.Get(RequestIDHeader)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	WriteJSON(w, status, &e)
}

// WriteJSON sends v as a JSON body with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
