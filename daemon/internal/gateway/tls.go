package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/fsutil"
)

// Development TLS material under <data_dir>/tls.
const (
	DevCAFile   = "ca.pem"
	devCAKey    = "ca.key"
	devCertFile = "server.pem"
	devKeyFile  = "server.key"
)

// TLSConfig returns the gateway's TLS configuration, or nil when TLS is
// explicitly disabled. In dev mode it issues (once) a local CA and a server
// certificate for localhost, 127.0.0.1 and ::1 into dir, renewing the server
// certificate when it has less than 30 days left.
func TLSConfig(c config.TLS, rand io.Reader, now time.Time) (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	switch c.Mode {
	case config.TLSDisabled:
		return nil, nil
	case config.TLSFiles:
		cert, err = tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	default:
		cert, err = devCertificate(c.DevDir, rand, now)
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: tls: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		// http/1.0 too: Go refuses a handshake whose ALPN offer shares
		// nothing with these, and an HTTP/1.0 client may offer only that.
		NextProtos: []string{"h2", "http/1.1", "http/1.0"},
		// TLS 1.2 suites limited to AEAD with forward secrecy; TLS 1.3
		// suites and the key exchanges (X25519MLKEM768 first) are Go's defaults.
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		},
	}, nil
}

func devCertificate(dir string, rand io.Reader, now time.Time) (tls.Certificate, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, err
	}
	caCert, caKey, err := loadOrCreateCA(dir, rand, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPath, keyPath := filepath.Join(dir, devCertFile), filepath.Join(dir, devKeyFile)
	if cert, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		leaf, perr := x509.ParseCertificate(cert.Certificate[0])
		if perr == nil && leaf.NotAfter.Sub(now) > 30*24*time.Hour && leaf.CheckSignatureFrom(caCert) == nil {
			return cert, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(rand),
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"Aunsorm development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writePEM(keyPath, "PRIVATE KEY", kder, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	return tls.LoadX509KeyPair(certPath, keyPath)
}

func loadOrCreateCA(dir string, rand io.Reader, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	caPath, keyPath := filepath.Join(dir, DevCAFile), filepath.Join(dir, devCAKey)
	if pair, err := tls.LoadX509KeyPair(caPath, keyPath); err == nil {
		cert, err := x509.ParseCertificate(pair.Certificate[0])
		key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
		if err == nil && ok && cert.NotAfter.After(now.Add(60*24*time.Hour)) {
			return cert, key, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("dev CA in %s unreadable: %w", dir, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(rand),
		Subject:               pkix.Name{CommonName: "Aunsorm development CA", Organization: []string{"Aunsorm development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := writePEM(keyPath, "PRIVATE KEY", kder, 0o600); err != nil {
		return nil, nil, err
	}
	if err := writePEM(caPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func serial(rand io.Reader) *big.Int {
	b := make([]byte, 16)
	_, _ = io.ReadFull(rand, b)
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b)
}

// writePEM writes one PEM block to path atomically with the given mode.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return fsutil.WriteFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}
