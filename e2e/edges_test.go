package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tlsDaemon is a daemon with the development TLS the documentation uses,
// the crypto plugin and a 4 KiB body limit.
type tlsDaemon struct {
	*daemon
	addr string
	tls  *tls.Config // client side, trusting the dev CA
}

func startTLSDaemon(t *testing.T) tlsDaemon {
	t.Helper()
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}, NoWait: true, Gateway: `tls {
    dev = true
  }
  max_body_bytes = 4096
  rate_limit {
    requests_per_second = 0
  }`})
	addr := strings.TrimPrefix(d.url, "http://")
	ca := filepath.Join(d.dir, "data", "tls", "ca.pem")
	waitHealthyTLS(t, d, ca, "https://"+addr+"/health")
	pem, err := os.ReadFile(ca)
	must(t, err)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	return tlsDaemon{daemon: d, addr: addr, tls: &tls.Config{RootCAs: roots, ServerName: "localhost"}}
}

// raw opens an HTTP/1.1 connection over TLS to the gateway.
func (d tlsDaemon) raw(t *testing.T) net.Conn {
	t.Helper()
	cfg := d.tls.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	c, err := tls.Dial("tcp", d.addr, cfg)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	// A guard against a hung test only; nothing is measured.
	must(t, c.SetDeadline(time.Now().Add(30*time.Second)))
	return c
}

// exchange writes req on c and reads one response (body read whole).
func exchange(t *testing.T, c net.Conn, br *bufio.Reader, req string, method string) (*http.Response, []byte) {
	t.Helper()
	if req != "" {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", strings.SplitN(req, "\r\n", 2)[0], err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

// wantGatewayError checks the JSON error shape, the request id and the
// attested-time headers on a raw answer.
func wantGatewayError(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var e struct {
		Error, ErrorDescription, RequestID string
	}
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%d %q is not the JSON error shape: %v", resp.StatusCode, body, err)
	}
	e.Error, e.ErrorDescription, e.RequestID = m["error"], m["error_description"], m["request_id"]
	if resp.StatusCode != status || e.Error != code || e.ErrorDescription == "" {
		t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, status, code)
	}
	if e.RequestID == "" || e.RequestID != resp.Header.Get("X-Request-Id") {
		t.Fatalf("request_id %q, header %q", e.RequestID, resp.Header.Get("X-Request-Id"))
	}
	if resp.Header.Get("X-Aunsorm-Attested-Time-Ms") == "" || resp.Header.Get("X-Aunsorm-Attestation-Age-Ms") == "" {
		t.Fatalf("%d without the attested-time headers: %v", resp.StatusCode, resp.Header)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Fatalf("%d with Location %q: the gateway never redirects", resp.StatusCode, loc)
	}
}

// TestEdges drives the gateway's HTTP edges on the wire, over TLS as the
// documentation runs it.
func TestEdges(t *testing.T) {
	d := startTLSDaemon(t)
	hash := `{"algorithm":"SHA-256","data":"YWJj"}`
	post := func(target, body string) string {
		return "POST " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}

	t.Run("ok/canonical-path-is-served", func(t *testing.T) {
		c := d.raw(t)
		resp, body := exchange(t, c, bufio.NewReader(c), post("/crypto/hash", hash), "POST")
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"digest"`)) {
			t.Fatalf("POST /crypto/hash: %d %s", resp.StatusCode, body)
		}
	})

	// One connection for all: a refused target is answered and the
	// connection kept (nothing about the framing was wrong).
	t.Run("fail/non-canonical-targets", func(t *testing.T) {
		c := d.raw(t)
		br := bufio.NewReader(c)
		for _, target := range []string{"/crypto/../health", "//crypto/hash", "/crypto/%2e%2e/health",
			"/crypto/%2E%2E/crypto/hash", "/./health", "/crypto%2fhash", "/crypto%2Fhash", "/crypto/./hash", "/health%00"} {
			resp, body := exchange(t, c, br, post(target, hash), "POST")
			wantGatewayError(t, resp, body, 400, "invalid_request")
			if bytes.Contains(body, []byte("crypto")) || bytes.Contains(body, []byte("health")) {
				t.Fatalf("%s: the answer reflects the path: %s", target, body)
			}
		}
	})

	t.Run("fail/connect-reflects-nothing", func(t *testing.T) {
		c := d.raw(t)
		resp, body := exchange(t, c, bufio.NewReader(c),
			"CONNECT attacker.example:443 HTTP/1.1\r\nHost: attacker.example:443\r\n\r\n", "CONNECT")
		wantGatewayError(t, resp, body, 400, "invalid_request")
		var hdr bytes.Buffer
		_ = resp.Header.Write(&hdr)
		if strings.Contains(hdr.String()+string(body), "attacker") {
			t.Fatalf("CONNECT answer reflects the client's host:\n%s%s", hdr.String(), body)
		}
	})

	t.Run("fail/content-length-and-chunked-closes", func(t *testing.T) {
		c := d.raw(t)
		br := bufio.NewReader(c)
		chunk := strconv.FormatInt(int64(len(hash)), 16)
		smuggle := "POST /crypto/hash HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
			"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + "\r\n" + hash + "\r\n0\r\n\r\n" +
			"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
		resp, body := exchange(t, c, br, smuggle, "POST")
		if resp.StatusCode != 200 || !resp.Close {
			t.Fatalf("first answer %d (Connection: close %v): %s", resp.StatusCode, resp.Close, body)
		}
		if second, err := http.ReadResponse(br, nil); err == nil {
			second.Body.Close()
			t.Fatalf("the pipelined request was served (%d) after a request with both Content-Length and chunked", second.StatusCode)
		} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("after the answer: %v, want the connection closed", err)
		}
	})

	t.Run("ok/content-length-keeps-alive", func(t *testing.T) {
		c := d.raw(t)
		br := bufio.NewReader(c)
		resp, body := exchange(t, c, br, post("/crypto/hash", hash)+"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n", "POST")
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("first answer %d (Connection: close %v): %s", resp.StatusCode, resp.Close, body)
		}
		if resp, body = exchange(t, c, br, "", "GET"); resp.StatusCode != 200 {
			t.Fatalf("pipelined /health: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("fail/http2-post-double-slash", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: d.tls, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		for _, size := range []int{len(hash), 3000, 1 << 20} {
			resp, err := c.Post("https://"+d.addr+"//crypto/hash", "application/json", bytes.NewReader(bytes.Repeat([]byte{' '}, size)))
			if err != nil {
				t.Fatalf("%d bytes: %v", size, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("%d bytes: reading the answer: %v", size, err)
			}
			if resp.ProtoMajor != 2 {
				t.Fatalf("%s, want HTTP/2", resp.Proto)
			}
			wantGatewayError(t, resp, body, 400, "invalid_request")
		}
		resp, err := c.Post("https://"+d.addr+"/crypto/hash", "application/json", strings.NewReader(hash))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("the HTTP/2 connection after the refusals: %d", resp.StatusCode)
		}
	})

	// curl, as the documentation's readers call the gateway: a 1 MiB body
	// still on its way when the answer comes.
	t.Run("fail/http2-post-double-slash-curl", func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			if os.Getenv("CI") == "" {
				t.Skip("curl is not on PATH")
			}
			t.Fatalf("CI: curl is not on PATH: %v", err)
		}
		big := filepath.Join(t.TempDir(), "body.json")
		must(t, os.WriteFile(big, bytes.Repeat([]byte{' '}, 1<<20), 0o600))
		port := d.addr[strings.LastIndex(d.addr, ":")+1:]
		out, err := exec.Command(curl, "-sS", "--http2", "--path-as-is", "--cacert", filepath.Join(d.dir, "data", "tls", "ca.pem"),
			"-o", "-", "-w", "\n%{http_version} %{http_code}", "-H", "Content-Type: application/json",
			"--data-binary", "@"+big, "https://localhost:"+port+"//crypto/hash").CombinedOutput()
		if err != nil || !bytes.HasSuffix(out, []byte("\n2 400")) || !bytes.Contains(out, []byte(`"error":"invalid_request"`)) {
			t.Fatalf("curl: %v\n%s", err, out)
		}
	})

	t.Run("fail/every-error-carries-the-headers", func(t *testing.T) {
		c := d.raw(t)
		br := bufio.NewReader(c)
		resp, body := exchange(t, c, br, "GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET")
		wantGatewayError(t, resp, body, 404, "not_found")
		if !bytes.Contains(body, []byte(`"no endpoint at this path"`)) {
			t.Fatalf("404 is not the platform's one 404: %s", body)
		}
		resp, body = exchange(t, c, br, "DELETE /health HTTP/1.1\r\nHost: localhost\r\n\r\n", "DELETE")
		wantGatewayError(t, resp, body, 405, "method_not_allowed")
		if resp.Header.Get("Allow") != "GET, HEAD" || !bytes.Contains(body, []byte("GET, HEAD")) {
			t.Fatalf("405 does not name the allowed methods: %v %s", resp.Header, body)
		}
		resp, body = exchange(t, c, br, post("/crypto/hash", `{"algorithm":"SHA-256","data":"`+strings.Repeat("A", 5000)+`"}`), "POST")
		wantGatewayError(t, resp, body, 413, "request_too_large")
	})
}

// TestEdgesRateLimitedAnswer: a 429 carries the attested-time headers too.
func TestEdgesRateLimitedAnswer(t *testing.T) {
	d := startDaemon(t, daemonOpts{NoWait: true, Gateway: `tls {
    disabled = true
  }
  rate_limit {
    requests_per_second = 0.01
    burst = 1
  }`})
	// One token per 100 s: once the daemon answers at all, the next
	// request is limited.
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("no 429 within 30s\n%s", tail(d.logs.String(), 40))
		}
		resp, err := client.Get(d.url + "/health")
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			wantGatewayError(t, resp, body, 429, "rate_limited")
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// jsonKeys lists the field names of v at any depth; the values of the
// objects named in free (maps keyed by names, not fields) are walked but
// their keys are not listed.
func jsonKeys(v any, free map[string]bool, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			*out = append(*out, k)
			if m, ok := e.(map[string]any); ok && free[k] {
				for _, ee := range m {
					jsonKeys(ee, free, out)
				}
				continue
			}
			jsonKeys(e, free, out)
		}
	case []any:
		for _, e := range x {
			jsonKeys(e, free, out)
		}
	}
}

// TestOneNamingConvention: /health, /clock/attestation and a plugin's own
// /health name every field in snake_case (docs/api.md).
func TestOneNamingConvention(t *testing.T) {
	d := startDaemon(t, daemonOpts{Plugins: map[string]string{"crypto": ""}})
	for _, url := range []string{d.url + "/health", d.url + "/clock/attestation", "http://" + d.ports["crypto"] + "/health"} {
		r := do(t, "GET", url, nil)
		if r.status != 200 || r.json == nil {
			t.Fatalf("%s: %d %s", url, r.status, r.body)
		}
		var keys []string
		jsonKeys(r.json, map[string]bool{"plugins": true}, &keys)
		if len(keys) < 5 {
			t.Fatalf("%s: only %v", url, keys)
		}
		for _, k := range keys {
			if !snakeCase.MatchString(k) {
				t.Errorf("%s: field %q is not snake_case: %s", url, k, r.body)
			}
		}
	}
}
