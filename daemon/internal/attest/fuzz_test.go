package attest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/clock"
)

// bodyTransport answers every request with 200 and a fixed body, without
// any network.
type bodyTransport []byte

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b)), Request: r}, nil
}

// FuzzRemoteDocument feeds arbitrary bytes as the attestor's answer: fetch
// never panics, and accepts only a document whose signed content is one
// the pinned key actually signed (the seeds).
func FuzzRemoteDocument(f *testing.F) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	pub := key.Public().(ed25519.PublicKey)
	signed := map[string]bool{}
	docOf := func(k ed25519.PrivateKey, ms int64, offset int64) []byte {
		s, err := clock.Sign(clock.Snapshot{AuthorityID: "fuzz", UnixTimeMs: ms, Stratum: 3, EstimatedOffsetMs: offset}, k)
		if err != nil {
			f.Fatal(err)
		}
		if k.Equal(key) {
			signed[string(s.SignedBytes())] = true
		}
		b, err := json.Marshal(Document{Snapshot: s, AuthorityPublicKey: spkiB64(k.Public().(ed25519.PublicKey))})
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(docOf(key, 1_700_000_000_000, -12))
	f.Add(docOf(key, 1, 0))
	f.Add(docOf(other, 1_700_000_000_000, 0))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"authority_public_key_spki_b64":"MCowBQYDK2VwAyEA"}`))
	f.Add(bytes.Repeat([]byte(" "), maxDocumentBytes+1))

	r := &remote{url: "https://attestor.invalid/clock/attestation", pin: clock.Fingerprint(pub)}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := *r
		r.client = &http.Client{Transport: bodyTransport(body)}
		doc, err := r.fetch(context.Background())
		if err != nil {
			return
		}
		if len(body) > maxDocumentBytes {
			t.Fatalf("accepted a %d-byte document", len(body))
		}
		if verr := clock.Verify(&doc.Snapshot, pub); verr != nil {
			t.Fatalf("accepted a document that does not verify: %v", verr)
		}
		if !signed[string(doc.Snapshot.SignedBytes())] {
			t.Fatalf("accepted content the pinned key never signed: %q", doc.Snapshot.SignedBytes())
		}
	})
}
