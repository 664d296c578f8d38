package apierror

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DefaultMaxBody is the body limit DecodeJSON applies when given zero.
const DefaultMaxBody = 1 << 20

// DecodeJSON strictly decodes the request body into v: the content type must
// be JSON when present, the body may not exceed maxBytes (DefaultMaxBody when
// zero) and must hold exactly one JSON value, decoded as UnmarshalStrict
// does (no unknown fields, duplicate keys, keys in another case or nesting
// deeper than MaxJSONDepth). The returned error is an *Error ready for Write
// (400 invalid_request, 413 request_too_large or 415 unsupported_media_type).
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
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return TooLarge(mbe.Limit)
		}
		return BadRequest("the request body could not be read")
	}
	return UnmarshalStrict(body, v)
}
