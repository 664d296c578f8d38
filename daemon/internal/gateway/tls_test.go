package gateway

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
)

// devTLS runs TLSConfig in dev mode on dir at now.
func devTLS(t *testing.T, dir string, now time.Time) *tls.Config {
	t.Helper()
	c, err := TLSConfig(config.TLS{Mode: config.TLSDev, DevDir: dir}, rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	if c == nil || len(c.Certificates) != 1 {
		t.Fatalf("dev TLS config %+v", c)
	}
	return c
}

// caPool loads dir/ca.pem.
func caPool(t *testing.T, dir string) (*x509.CertPool, []byte) {
	t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(dir, DevCAFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("ca.pem holds no certificate")
	}
	return pool, pemBytes
}

func leafOf(t *testing.T, c *tls.Config) *x509.Certificate {
	t.Helper()
	leaf, err := x509.ParseCertificate(c.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func TestTLSConfigDev(t *testing.T) {
	now := time.Now()
	dir := filepath.Join(t.TempDir(), "tls") // created by TLSConfig
	first := devTLS(t, dir, now)

	t.Run("ok/files-and-modes", func(t *testing.T) {
		want := map[string]os.FileMode{DevCAFile: 0o644, devCAKey: 0o600, devCertFile: 0o644, devKeyFile: 0o600}
		for name, mode := range want {
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if name == devCAKey || name == devKeyFile {
				if st.Mode().Perm() != mode {
					t.Fatalf("%s mode %o, want %o", name, st.Mode().Perm(), mode)
				}
			}
		}
		if st, err := os.Stat(dir); err != nil || st.Mode().Perm()&0o077 != 0 {
			t.Fatalf("tls dir mode %v (%v), want private", st.Mode(), err)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 4 {
			t.Fatalf("%d files in the tls dir, want 4 (no leftovers)", len(ents))
		}
	})
	t.Run("ok/leaf-verifies-for-loopback-names", func(t *testing.T) {
		pool, _ := caPool(t, dir)
		leaf := leafOf(t, first)
		for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: now,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Fatalf("leaf does not verify for %s: %v", name, err)
			}
		}
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool, CurrentTime: now}); err == nil {
			t.Fatal("leaf verifies for a name it must not cover")
		}
		if leaf.IsCA {
			t.Fatal("the leaf is a CA")
		}
	})
	t.Run("ok/protocol-settings", func(t *testing.T) {
		if first.MinVersion != tls.VersionTLS12 {
			t.Fatalf("MinVersion %x, want TLS 1.2", first.MinVersion)
		}
		for _, id := range first.CipherSuites {
			name := tls.CipherSuiteName(id)
			if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "GCM") || strings.Contains(name, "CHACHA20")) {
				t.Fatalf("suite %s is not AEAD with forward secrecy", name)
			}
		}
		if len(first.NextProtos) == 0 || first.NextProtos[0] != "h2" { // HTTP/2 preferred
			t.Fatalf("NextProtos %v", first.NextProtos)
		}
	})
	// A client offering one application protocol gets it; one offering only
	// HTTP/1.0 is served too, not refused with no_application_protocol.
	for _, proto := range []string{"h2", "http/1.1", "http/1.0"} {
		t.Run("ok/alpn-"+proto, func(t *testing.T) {
			cc, sc := net.Pipe()
			defer cc.Close()
			defer sc.Close()
			srv := tls.Server(sc, first)
			go srv.Handshake()
			pool := x509.NewCertPool()
			pool.AddCert(first.Certificates[0].Leaf)
			for _, der := range first.Certificates[0].Certificate[1:] {
				c, _ := x509.ParseCertificate(der)
				pool.AddCert(c)
			}
			cli := tls.Client(cc, &tls.Config{ServerName: "localhost", NextProtos: []string{proto}, RootCAs: pool})
			if err := cli.Handshake(); err != nil {
				t.Fatalf("handshake offering %s: %v", proto, err)
			}
			if got := cli.ConnectionState().NegotiatedProtocol; got != proto {
				t.Fatalf("negotiated %q", got)
			}
		})
	}

	tests := []struct {
		name     string
		at       time.Duration
		sameLeaf bool
		sameCA   bool
	}{
		{"ok/reused-on-second-start", 0, true, true},
		{"ok/reused-with-31-days-left", 334 * 24 * time.Hour, true, true},
		{"ok/renewed-with-29-days-left", 336 * 24 * time.Hour, false, true},
		{"ok/ca-renewed-near-its-expiry", (10*365 - 59) * 24 * time.Hour, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			a := devTLS(t, d, now)
			_, caBefore := caPool(t, d)
			at := now.Add(tc.at)
			b := devTLS(t, d, at)
			pool, caAfter := caPool(t, d)
			if same := bytes.Equal(a.Certificates[0].Certificate[0], b.Certificates[0].Certificate[0]); same != tc.sameLeaf {
				t.Fatalf("leaf reused = %v, want %v", same, tc.sameLeaf)
			}
			if same := bytes.Equal(caBefore, caAfter); same != tc.sameCA {
				t.Fatalf("CA reused = %v, want %v", same, tc.sameCA)
			}
			leaf := leafOf(t, b)
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool, CurrentTime: at}); err != nil {
				t.Fatalf("leaf does not verify against ca.pem at %v: %v", at, err)
			}
			// A renewed leaf lasts a year from the renewal, to the day.
			if d := leaf.NotAfter.Sub(at.Add(365 * 24 * time.Hour)); !tc.sameLeaf && (d < -24*time.Hour || d > 24*time.Hour) {
				t.Fatalf("renewed leaf expires %v, want a year after %v", leaf.NotAfter, at)
			}
		})
	}

	t.Run("ok/leaf-of-another-ca-reissued", func(t *testing.T) {
		d1, d2 := t.TempDir(), t.TempDir()
		devTLS(t, d1, now)
		devTLS(t, d2, now)
		for _, f := range []string{devCertFile, devKeyFile} {
			data, err := os.ReadFile(filepath.Join(d2, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d1, f), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		c := devTLS(t, d1, now)
		pool, _ := caPool(t, d1)
		if _, err := leafOf(t, c).Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool, CurrentTime: now}); err != nil {
			t.Fatalf("a leaf not issued by the dev CA was kept: %v", err)
		}
	})
	t.Run("fail/corrupt-ca", func(t *testing.T) {
		d := t.TempDir()
		devTLS(t, d, now)
		if err := os.WriteFile(filepath.Join(d, DevCAFile), []byte("garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := TLSConfig(config.TLS{Mode: config.TLSDev, DevDir: d}, rand.Reader, now); err == nil {
			t.Fatal("a corrupt dev CA was silently replaced or accepted")
		}
	})
	t.Run("fail/dir-under-a-file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := TLSConfig(config.TLS{Mode: config.TLSDev, DevDir: filepath.Join(f, "tls")}, rand.Reader, now); err == nil {
			t.Fatal("dev TLS in an impossible directory succeeded")
		}
	})
}

func TestTLSConfigStaleTempKeyFile(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{devCAKey, devKeyFile} {
		if err := os.WriteFile(filepath.Join(dir, f+".tmp"), []byte("stale"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	devTLS(t, dir, time.Now())
	for _, f := range []string{devCAKey, devKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %o after a stale temporary file, want 600", f, st.Mode().Perm())
		}
	}
}

func TestTLSConfigModes(t *testing.T) {
	now := time.Now()
	devA, devB := t.TempDir(), t.TempDir()
	devTLS(t, devA, now)
	devTLS(t, devB, now)
	tests := []struct {
		name    string
		cfg     config.TLS
		wantNil bool
		wantErr bool
	}{
		{"ok/disabled-is-nil", config.TLS{Mode: config.TLSDisabled}, true, false},
		{"ok/files", config.TLS{Mode: config.TLSFiles, CertFile: filepath.Join(devA, devCertFile), KeyFile: filepath.Join(devA, devKeyFile)}, false, false},
		{"ok/empty-mode-is-dev", config.TLS{DevDir: t.TempDir()}, false, false},
		{"fail/files-missing-cert", config.TLS{Mode: config.TLSFiles, CertFile: filepath.Join(devA, "nope.pem"), KeyFile: filepath.Join(devA, devKeyFile)}, false, true},
		{"fail/files-missing-key", config.TLS{Mode: config.TLSFiles, CertFile: filepath.Join(devA, devCertFile), KeyFile: filepath.Join(devA, "nope.key")}, false, true},
		{"fail/files-key-mismatch", config.TLS{Mode: config.TLSFiles, CertFile: filepath.Join(devA, devCertFile), KeyFile: filepath.Join(devB, devKeyFile)}, false, true},
		{"fail/files-not-pem", config.TLS{Mode: config.TLSFiles, CertFile: filepath.Join(devA, devCAKey), KeyFile: filepath.Join(devA, devCertFile)}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := TLSConfig(tc.cfg, rand.Reader, now)
			if tc.wantErr {
				if err == nil || !strings.HasPrefix(err.Error(), "gateway: tls: ") {
					t.Fatalf("err = %v, want a gateway: tls: error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (c == nil) != tc.wantNil {
				t.Fatalf("config %v, want nil %v", c, tc.wantNil)
			}
			if c != nil && c.MinVersion != tls.VersionTLS12 {
				t.Fatalf("MinVersion %x", c.MinVersion)
			}
		})
	}
}

func TestTLSHandshakeVersions(t *testing.T) {
	dir := t.TempDir()
	srvCfg := devTLS(t, dir, time.Now())
	pool, _ := caPool(t, dir)
	tests := []struct {
		name     string
		min, max uint16
		ok       bool
	}{
		{"ok/tls13", tls.VersionTLS13, tls.VersionTLS13, true},
		{"ok/tls12", tls.VersionTLS12, tls.VersionTLS12, true},
		{"fail/tls11", tls.VersionTLS10, tls.VersionTLS11, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := net.Pipe()
			defer cc.Close()
			defer sc.Close()
			srvErr := make(chan error, 1)
			go func() {
				s := tls.Server(sc, srvCfg)
				err := s.Handshake()
				if err != nil {
					sc.Close()
				}
				srvErr <- err
			}()
			client := tls.Client(cc, &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tc.min, MaxVersion: tc.max})
			_ = client.SetDeadline(time.Now().Add(10 * time.Second))
			err := client.Handshake()
			if tc.ok != (err == nil) {
				t.Fatalf("handshake err = %v, want ok %v", err, tc.ok)
			}
			if tc.ok {
				if v := client.ConnectionState().Version; v != tc.max {
					t.Fatalf("negotiated %x, want %x", v, tc.max)
				}
				if err := <-srvErr; err != nil {
					t.Fatal(err)
				}
			} else {
				cc.Close()
				<-srvErr
			}
		})
	}
}
