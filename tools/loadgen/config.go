package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Config describes one load run. Build it with parseFlags or by hand (tests);
// validate it with check before calling Run.
type Config struct {
	// URL is the absolute http or https URL every request targets.
	URL string
	// Method is GET or POST.
	Method string
	// Body is sent with every request (may be empty).
	Body []byte
	// Header holds the extra request headers.
	Header http.Header
	// Requests is the total number of requests; with Duration set it is a cap
	// (0 = no cap).
	Requests int
	// Concurrency is the number of workers, each with at most one request in
	// flight; it is also the size of the idle connection pool.
	Concurrency int
	// Rate paces request starts to this many per second over all workers
	// (0 = as fast as the workers go).
	Rate float64
	// Duration, when positive, ends the run after this long.
	Duration time.Duration
	// Timeout bounds each request, response body included.
	Timeout time.Duration
	// RootCAs, when set, is the only trust anchor for https targets.
	RootCAs *x509.CertPool
}

// check reports the first problem with c as an errUsage.
func (c *Config) check() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return fmt.Errorf("%w: -url is required", errUsage)
	case err != nil:
		return fmt.Errorf("%w: -url: %v", errUsage, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w: -url must be http or https, got %q", errUsage, u.Scheme)
	case u.Host == "":
		return fmt.Errorf("%w: -url has no host", errUsage)
	case c.Method != http.MethodGet && c.Method != http.MethodPost:
		return fmt.Errorf("%w: -method must be GET or POST, got %q", errUsage, c.Method)
	case c.Concurrency < 1:
		return fmt.Errorf("%w: -c must be at least 1, got %d", errUsage, c.Concurrency)
	case c.Requests < 0:
		return fmt.Errorf("%w: -n must not be negative, got %d", errUsage, c.Requests)
	case c.Duration < 0:
		return fmt.Errorf("%w: -duration must not be negative, got %s", errUsage, c.Duration)
	case c.Requests == 0 && c.Duration == 0:
		return fmt.Errorf("%w: give -n or -duration", errUsage)
	case c.Rate < 0:
		return fmt.Errorf("%w: -rate must not be negative, got %g", errUsage, c.Rate)
	case c.Timeout <= 0:
		return fmt.Errorf("%w: -timeout must be positive, got %s", errUsage, c.Timeout)
	}
	return nil
}

// transport is the one http.Transport every worker shares: keep-alive
// connections, an idle pool as large as the concurrency, no compression.
func (c *Config) transport() *http.Transport {
	t := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        c.Concurrency,
		MaxIdleConnsPerHost: c.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		TLSHandshakeTimeout: c.Timeout,
	}
	if c.RootCAs != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}
	}
	return t
}

// parseHeader splits "Name: value" (or "Name:value") into a canonical name
// and a value with surrounding blanks trimmed.
func parseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", "", fmt.Errorf("%w: %q: want name:value", errHeader, s)
	}
	if !httpguts.ValidHeaderFieldName(name) {
		return "", "", fmt.Errorf("%w: %q: invalid character in name", errHeader, s)
	}
	value = strings.TrimSpace(value)
	if !httpguts.ValidHeaderFieldValue(value) {
		return "", "", fmt.Errorf("%w: %q: control character in value", errHeader, s)
	}
	return textproto.CanonicalMIMEHeaderKey(name), value, nil
}

// headerFlag collects repeated -header flags.
type headerFlag struct{ h http.Header }

// String implements flag.Value.
func (f *headerFlag) String() string {
	if f == nil || f.h == nil {
		return ""
	}
	var parts []string
	for k, vs := range f.h {
		for _, v := range vs {
			parts = append(parts, k+": "+v)
		}
	}
	return strings.Join(parts, ", ")
}

// Set implements flag.Value.
func (f *headerFlag) Set(s string) error {
	name, value, err := parseHeader(s)
	if err != nil {
		return err
	}
	if f.h == nil {
		f.h = http.Header{}
	}
	f.h.Add(name, value)
	return nil
}

// loadCACerts reads a PEM bundle into a pool.
func loadCACerts(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCACert, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: %s holds no PEM certificate", errCACert, path)
	}
	return pool, nil
}
