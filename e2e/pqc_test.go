package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPQCImplementationSwapUnderLoad switches ML-KEM from circl to Go's
// crypto/mlkem by a config change and reload while encapsulations and
// decapsulations flow: none fails, decapsulation keeps agreeing with
// encapsulation across implementations, and /pqc/capabilities reports the
// new implementation.
func TestPQCImplementationSwapUnderLoad(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"pqc": "  config {\n    implementation = \"circl\"\n  }"}})
	kp := do(t, "POST", d.url+"/pqc/ml-kem/keygen", map[string]any{"algorithm": "ML-KEM-768"})
	if kp.status != 200 {
		t.Fatalf("keygen: %d %s", kp.status, kp.body)
	}
	capImpl := func() string {
		r := do(t, "GET", d.url+"/pqc/capabilities", nil)
		impl, _ := r.json["implementation"].(map[string]any)
		name, _ := impl["name"].(string)
		return name
	}
	if got := capImpl(); got != "circl" {
		t.Fatalf("capabilities implementation = %q", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var mu sync.Mutex
	var errs []string
	seen := map[string]int{}
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(path string, body any) (map[string]any, error) {
		raw, _ := json.Marshal(body)
		resp, err := client.Post(d.url+path, "application/json", bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 {
			return out, &statusError{resp.StatusCode}
		}
		return out, nil
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				enc, err := post("/pqc/ml-kem/encapsulate", map[string]any{"algorithm": "ML-KEM-768", "public_key": kp.json["public_key"]})
				var dec map[string]any
				if err == nil {
					dec, err = post("/pqc/ml-kem/decapsulate", map[string]any{"algorithm": "ML-KEM-768", "private_key": kp.json["seed"], "ciphertext": enc["ciphertext"]})
				}
				mu.Lock()
				switch {
				case err != nil:
					failed.Add(1)
					errs = append(errs, err.Error())
				case dec["shared_secret"] != enc["shared_secret"]:
					failed.Add(1)
					errs = append(errs, "shared secrets differ")
				default:
					ok.Add(1)
					seen[enc["implementation"].(string)+"->"+dec["implementation"].(string)]++
				}
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Second)
	src, err := os.ReadFile(d.cfgPath)
	must(t, err)
	must(t, os.WriteFile(d.cfgPath, bytes.Replace(src, []byte(`implementation = "circl"`), []byte(`implementation = "go"`), 1), 0o600))
	out, err := exec.Command(bins.daemon, "reload", "-config", d.cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "pqc: swapped") {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	t.Logf("ok=%d failed=%d implementations seen: %v", ok.Load(), failed.Load(), seen)
	if failed.Load() != 0 {
		t.Fatalf("%d operations failed across the swap: %v", failed.Load(), errs)
	}
	if seen["go->go"] == 0 || seen["circl->circl"] == 0 {
		t.Fatalf("did not see both implementations serve: %v", seen)
	}
	if got := capImpl(); got != "go" {
		t.Fatalf("capabilities implementation after swap = %q", got)
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "status " + http.StatusText(e.code) }
