package e2e

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/aunsorm/aunsorm/sdk/calibration"
)

// stamp is the test plugin's signed attested time.
type stamp struct {
	TimeMs    string `json:"time_ms"`
	PublicKey string `json:"public_key"`
	Signature string `json:"signature"`
}

// TestOneAttestedTimePerRequest: the time a plugin signs for a request is
// the attested time the gateway answered in X-Aunsorm-Attested-Time-Ms on
// that same request, and a client cannot supply the header that carries
// it to the plugin.
func TestOneAttestedTimePerRequest(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{
		"stamp": "#kind=stderrspam\n  env = { SPAM_PREFIX = \"stamp\" }",
	}})
	get := func(t *testing.T, forged string) (stamp, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, d.url+"/stamp/stamp", nil)
		must(t, err)
		if forged != "" {
			req.Header.Set(calibration.HeaderForwardedTime, forged)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var s stamp
		must(t, json.Unmarshal(body, &s))
		pub, err1 := base64.StdEncoding.DecodeString(s.PublicKey)
		sig, err2 := base64.StdEncoding.DecodeString(s.Signature)
		if err1 != nil || err2 != nil || len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, []byte(s.TimeMs), sig) {
			t.Fatalf("the plugin's signature does not verify: %s", body)
		}
		return s, resp.Header.Get(calibration.HeaderAttestedTime)
	}
	var last int64
	for i := range 20 {
		s, header := get(t, "")
		if header == "" || s.TimeMs != header {
			t.Fatalf("request %d: the plugin signed %s, the gateway answered %s = %q", i, s.TimeMs, calibration.HeaderAttestedTime, header)
		}
		last, _ = strconv.ParseInt(header, 10, 64)
	}
	// A plausible time from a client (within the snapshot's validity) is
	// not the request's time: the gateway replaces it.
	forged := strconv.FormatInt(last-1000, 10)
	s, header := get(t, forged)
	if s.TimeMs == forged || s.TimeMs != header {
		t.Fatalf("with a client's %s = %s: the plugin signed %s, the gateway answered %s", calibration.HeaderForwardedTime, forged, s.TimeMs, header)
	}
}
