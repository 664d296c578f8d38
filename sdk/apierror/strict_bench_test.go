package apierror

import (
	"encoding/json"
	"testing"
)

// benchBody is a typical request: an algorithm and three base64url fields.
var benchBody = []byte(`{"algorithm":"AES-256-GCM","key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",` +
	`"plaintext":"aGVsbG8gd29ybGQ","aad":"YWFk"}`)

type benchRequest struct {
	Algorithm string  `json:"algorithm"`
	Key       *string `json:"key"`
	Plaintext *string `json:"plaintext"`
	AAD       *string `json:"aad"`
	Nonce     *string `json:"nonce"`
}

func BenchmarkUnmarshalStrict(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var v benchRequest
		if err := UnmarshalStrict(benchBody, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodingJSON(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var v benchRequest
		if err := json.Unmarshal(benchBody, &v); err != nil {
			b.Fatal(err)
		}
	}
}
