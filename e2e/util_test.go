package e2e

import (
	"crypto/x509"
	"strconv"
)

func strconvF(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func parseSPKI(der []byte) (any, error) { return x509.ParsePKIXPublicKey(der) }
