package apierror

import (
	"encoding/base64"
	"errors"
	"strings"
)

// Base64URL is the encoding of every binary field in request and response
// bodies: base64url without padding (RFC 4648 §5), strict about trailing
// bits.
var Base64URL = base64.RawURLEncoding.Strict()

// DecodeBase64URL decodes the binary request field named field. Padding,
// line breaks (which the standard decoder would skip), the standard
// alphabet and non-canonical trailing bits are refused with a 400
// invalid_request that names the field and what is wrong, never its value.
func DecodeBase64URL(field, s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, BadRequest("field %q must be base64url without padding: line breaks are not allowed", field)
	}
	out, err := Base64URL.DecodeString(s)
	if err == nil {
		return out, nil
	}
	switch {
	case strings.Contains(s, "="):
		return nil, BadRequest("field %q must be base64url without padding: remove the trailing '='", field)
	case strings.ContainsAny(s, "+/"):
		return nil, BadRequest("field %q must be base64url without padding: use '-' and '_' instead of '+' and '/'", field)
	}
	var at base64.CorruptInputError
	if errors.As(err, &at) {
		return nil, BadRequest("field %q must be base64url without padding: invalid data at offset %d", field, int64(at))
	}
	return nil, BadRequest("field %q must be base64url without padding", field)
}
