package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sealerPlugins are two instances of the sealing test plugin, each on its
// own prefix.
var sealerPlugins = map[string]string{
	"vault-a": "  #kind=sealer\n  args = [\"-prefix\", \"/vault-a/\"]",
	"vault-b": "  #kind=sealer\n  args = [\"-prefix\", \"/vault-b/\"]",
}

// TestSealedSecrets drives the sealing barrier through a real daemon: a
// plugin's secrets are on disk only sealed, a tampered file and another
// plugin's key are refused, and a root key rotation followed by a hot swap,
// a background re-seal and a restart keeps every secret readable.
func TestSealedSecrets(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: sealerPlugins})
	keyFile := filepath.Join(d.dir, "data", "seal", "root.keys")
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("root key file not created 0600 on first start: %v %v", st, err)
	}
	secretFile := func(plugin, id string) string {
		return filepath.Join(d.dir, "data", "plugins", plugin, "secrets", id)
	}
	put := func(d *daemon, plugin, id, value string, version float64) response {
		t.Helper()
		r := do(t, "PUT", d.url+"/"+plugin+"/secrets/"+id, map[string]string{"value": value})
		if r.status != 200 || r.json["version"] != version {
			t.Fatalf("PUT %s/%s: %d %s (want version %v)", plugin, id, r.status, r.body, version)
		}
		return r
	}
	get := func(d *daemon, plugin, id, value string, version float64, stale bool) {
		t.Helper()
		r := do(t, "GET", d.url+"/"+plugin+"/secrets/"+id, nil)
		if r.status != 200 || r.json["value"] != value || r.json["version"] != version || r.json["stale"] != stale {
			t.Fatalf("GET %s/%s: %d %s (want %q, version %v, stale %v)", plugin, id, r.status, r.body, value, version, stale)
		}
	}
	const n = 12
	sealed := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("s%02d", i)
		sealed[id] = put(d, "vault-a", id, "alpha-"+id, 1).json["sealed"].(string)
		put(d, "vault-b", id, "beta-"+id, 1)
	}

	t.Run("ok/not-in-clear-on-disk", func(t *testing.T) {
		raw, err := os.ReadFile(secretFile("vault-a", "s00"))
		if err != nil || strings.Contains(string(raw), "alpha-") {
			t.Fatalf("secret file holds the plaintext or is missing: %v", err)
		}
	})
	t.Run("fail/other-plugin", func(t *testing.T) {
		r := do(t, "POST", d.url+"/vault-b/open", map[string]string{"aad": "secrets/s00", "sealed": sealed["s00"]})
		wantError(t, r, 422, "sealed_value_refused")
		if r = do(t, "POST", d.url+"/vault-a/open", map[string]string{"aad": "secrets/s00", "sealed": sealed["s00"]}); r.status != 200 || r.json["value"] != "alpha-s00" {
			t.Fatalf("the owner cannot open it: %d %s", r.status, r.body)
		}
	})
	t.Run("fail/swapped-row", func(t *testing.T) {
		r := do(t, "POST", d.url+"/vault-a/open", map[string]string{"aad": "secrets/s01", "sealed": sealed["s00"]})
		wantError(t, r, 422, "sealed_value_refused")
	})
	t.Run("fail/tampered-row", func(t *testing.T) {
		path := secretFile("vault-a", "s03")
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		bad := []byte(string(orig))
		bad[len(bad)-1] ^= 0x01
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		wantError(t, do(t, "GET", d.url+"/vault-a/secrets/s03", nil), 422, "sealed_value_refused")
		if err := os.WriteFile(path, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		get(d, "vault-a", "s03", "alpha-s03", 1, false)
	})

	// Rotate while the daemon runs: nothing changes until a plugin starts.
	out, err := exec.Command(bins.daemon, "seal", "rotate", "-config", d.cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "version 2 added") {
		t.Fatalf("seal rotate: %v\n%s", err, out)
	}
	put(d, "vault-a", "before-swap", "x", 1)
	// A hot swap of vault-a brings it version 2; vault-b keeps version 1.
	if out, err := exec.Command(bins.daemon, "plugin", "reload", "-config", d.cfgPath, "vault-a").CombinedOutput(); err != nil {
		t.Fatalf("plugin reload: %v\n%s", err, out)
	}
	put(d, "vault-a", "after-swap", "y", 2)
	if !strings.Contains(d.logs.String(), `"seal_version":2`) {
		t.Errorf("no plugin-ready line names seal_version 2:\n%s", tail(d.logs.String(), 20))
	}
	put(d, "vault-b", "after-swap", "z", 1)
	get(d, "vault-a", "s00", "alpha-s00", 1, true) // re-sealed on the way
	get(d, "vault-a", "s00", "alpha-s00", 2, false)
	r := do(t, "POST", d.url+"/vault-a/reseal", nil)
	// s00 and after-swap are already current; the other n-1 and before-swap are not.
	if r.status != 200 || r.json["Scanned"] != float64(n+2) || r.json["Resealed"] != float64(n) || r.json["Refused"] != float64(0) {
		t.Fatalf("reseal: %d %s", r.status, r.body)
	}
	for i := range n {
		id := fmt.Sprintf("s%02d", i)
		get(d, "vault-a", id, "alpha-"+id, 2, false)
		get(d, "vault-b", id, "beta-"+id, 1, false)
	}

	// A restart: both plugins now seal with version 2 and open everything.
	d.stop()
	d = d.restart()
	put(d, "vault-b", "after-restart", "w", 2)
	for i := range n {
		id := fmt.Sprintf("s%02d", i)
		get(d, "vault-a", id, "alpha-"+id, 2, false)
		get(d, "vault-b", id, "beta-"+id, 1, true)
	}
	get(d, "vault-a", "before-swap", "x", 2, false)
	get(d, "vault-b", "after-swap", "z", 1, true)

	// No root key in the daemon's or the plugins' log.
	ring, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ring), "\n") {
		if _, key, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") && strings.Contains(d.logs.String(), key) {
			t.Fatal("a root key appears in the log")
		}
	}
}

// TestSealKeyRefused: the daemon refuses to start on a root key file that
// group or others may read, and config validate says why without printing
// the key.
func TestSealKeyRefused(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "data", "seal", "root.keys")
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		t.Fatal(err)
	}
	const ring = "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
	if err := os.WriteFile(keyFile, []byte(ring), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, daemonOpts{DataDir: dir, NoWait: true})
	<-d.done
	if d.exit == nil || !strings.Contains(d.logs.String(), "readable by others") {
		t.Fatalf("daemon started on a 0644 key file (exit %v):\n%s", d.exit, tail(d.logs.String(), 20))
	}
	out, err := exec.Command(bins.daemon, "config", "validate", "-config", d.cfgPath).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Root sealing key") || strings.Contains(string(out), "AAECAwQF") {
		t.Fatalf("config validate: %v\n%s", err, out)
	}
	if strings.Contains(d.logs.String(), "AAECAwQF") {
		t.Fatal("the daemon logged key material")
	}
}
