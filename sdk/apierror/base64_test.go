package apierror

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestDecodeBase64URL(t *testing.T) {
	got, err := DecodeBase64URL("data", "_-8")
	if err != nil || !bytes.Equal(got, []byte{0xff, 0xef}) {
		t.Fatalf("got %x, %v", got, err)
	}
	if got, err := DecodeBase64URL("data", ""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %x, %v", got, err)
	}
	for in, want := range map[string]string{
		"_w==":  "remove the trailing '='",
		"AA\rA": "line breaks",
		"AA\nA": "line breaks",
		"+/8":   "use '-' and '_'",
		"AA AA": "invalid data at offset 2",
		"_x":    "invalid data at offset", // non-canonical trailing bits
	} {
		_, err := DecodeBase64URL("data", in)
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "invalid_request" {
			t.Fatalf("%q: %v", in, err)
		}
		if !strings.Contains(e.Description, `"data"`) || !strings.Contains(e.Description, want) {
			t.Errorf("%q: %q does not name the field and say %q", in, e.Description, want)
		}
		if strings.Contains(e.Description, in) && in != "" {
			t.Errorf("%q: the description repeats the value", in)
		}
	}
}
