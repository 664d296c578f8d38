package e2e

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"io"
	"os"
	"strconv"
)

func strconvF(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func parseSPKI(der []byte) (any, error) { return x509.ParsePKIXPublicKey(der) }
