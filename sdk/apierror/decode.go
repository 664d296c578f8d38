package apierror

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DefaultMaxBody is the body limit DecodeJSON applies when given zero.
const DefaultMaxBody = 1 << 20

// DecodeJSON strictly decodes the request body into v: the content type must
// be JSON when present, unknown fields are rejected, exactly one JSON value is
// allowed and the body may not exceed maxBytes (DefaultMaxBody when zero).
// The returned error is an *Error ready for Write (400 invalid_request, 413
// request_too_large or 415 unsupported_media_type).
func DecodeJSON(r *http.Request, maxBytes int64, v any) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return New(http.StatusUnsupportedMediaType, "unsupported_media_type", "the request body must be application/json")
		}
	}
	body := http.MaxBytesReader(nil, r.Body, maxBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err)
		}
		return BadRequest("the request body must hold exactly one JSON object")
	}
	return nil
}

func jsonError(err error) *Error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return TooLarge(mbe.Limit)
	case errors.Is(err, io.EOF):
		return BadRequest("the request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("the request body is truncated JSON")
	case errors.As(err, &se):
		return BadRequest("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return BadRequest("field %q must be of type %s", te.Field, te.Type.String())
		}
		return BadRequest("the request body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return BadRequest("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return BadRequest("malformed JSON request body")
	}
}
