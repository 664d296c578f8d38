package attest

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/fsutil"
	"github.com/aunsorm/aunsorm/sdk/clock"
)

// LocalConfig configures the local authority.
type LocalConfig struct {
	// Dir holds authority.key (PKCS#8 PEM, 0600) and authority.pub.pem.
	Dir string
	// ID names the authority in snapshots.
	ID string
	// MaxAge is the freshness limit.
	MaxAge time.Duration
	// Rand draws the key on first start.
	Rand io.Reader
	// Offset, when set, measures the local clock against NTP; its error
	// leaves the offset unknown (stratum 16) rather than failing.
	Offset func(ctx context.Context) (OffsetSample, error)
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// OffsetSample is one measurement of the local clock against a reference.
type OffsetSample struct {
	Offset, RoundTrip, Dispersion time.Duration
	Stratum                       uint32
}

// ntpMinPoll is the shortest interval between two offset measurements
// (NTP's minimum poll interval, 2^6 s).
const ntpMinPoll = 64 * time.Second

// NewLocal loads or creates the authority key and returns an Authority that
// signs a snapshot right away and then every refresh interval once Run.
func NewLocal(log zerolog.Logger, cfg LocalConfig) (*Authority, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key, err := loadOrCreateKey(cfg.Dir, cfg.Rand)
	if err != nil {
		return nil, err
	}
	pub := key.Public().(ed25519.PublicKey)
	a := newAuthority(log, pub, cfg.MaxAge)
	a.refreshEnabled = true
	var sample OffsetSample
	var haveSample bool
	var measured time.Time
	sign := func(ctx context.Context) {
		// Measure at most every ntpMinPoll: snapshots are signed far more
		// often than an NTP server wants to be asked.
		if cfg.Offset != nil && (measured.IsZero() || cfg.Now().Sub(measured) >= ntpMinPoll) {
			measured = cfg.Now()
			if s, err := cfg.Offset(ctx); err == nil {
				sample, haveSample = s, true
			} else {
				a.log.Warn().Err(err).Msg("clock offset measurement failed")
			}
		}
		s := clock.Snapshot{AuthorityID: cfg.ID, UnixTimeMs: cfg.Now().UnixMilli(), Stratum: 16}
		if haveSample {
			s.Stratum = sample.Stratum + 1
			s.RoundTripMs = sample.RoundTrip.Milliseconds()
			s.DispersionMs = sample.Dispersion.Milliseconds()
			s.EstimatedOffsetMs = sample.Offset.Milliseconds()
		}
		signed, err := clock.Sign(s, key)
		if err == nil {
			err = a.accept(signed)
		}
		if err != nil {
			a.log.Error().Err(err).Msg("signing clock snapshot")
		}
	}
	sign(context.Background())
	a.refresh = sign
	return a, nil
}

// loadOrCreateKey reads dir/authority.key or creates it (0600) together with
// dir/authority.pub.pem for operators and openssl.
func loadOrCreateKey(dir string, rand io.Reader) (ed25519.PrivateKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	keyPath := filepath.Join(dir, "authority.key")
	data, err := os.ReadFile(keyPath)
	switch {
	case err == nil:
		if st, err := os.Stat(keyPath); err == nil && st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("attest: %s is readable by others (mode %o); chmod 600 it", keyPath, st.Mode().Perm())
		}
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("attest: %s is not a PEM private key", keyPath)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("attest: %s: %w", keyPath, err)
		}
		key, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("attest: %s is not an Ed25519 key", keyPath)
		}
		return key, writePub(dir, key)
	case errors.Is(err, fs.ErrNotExist):
		_, key, err := ed25519.GenerateKey(rand)
		if err != nil {
			return nil, fmt.Errorf("attest: generate key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("attest: %w", err)
		}
		if err := writeFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
		return key, writePub(dir, key)
	default:
		return nil, fmt.Errorf("attest: %w", err)
	}
}

func writePub(dir string, key ed25519.PrivateKey) error {
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, "authority.pub.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// writeFileAtomic writes via a synced temporary file and rename, so a crash
// never leaves a half-written key.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := fsutil.WriteFileAtomic(path, data, mode); err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	return nil
}
