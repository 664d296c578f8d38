package pluginrpc

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
)

func TestServeRefusesWithoutCookie(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"fail/no-cookie":    {},
		"fail/wrong-cookie": {"COOKIE": "other"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := Serve(Config{CookieKey: "COOKIE", CookieValue: "v", Version: 1, Handshake: &out,
				Getenv: func(k string) string { return env[k] }})
			if !errors.Is(err, ErrNotLaunched) {
				t.Fatalf("Serve: %v, want ErrNotLaunched", err)
			}
			if out.Len() != 0 {
				t.Fatalf("wrote %q before refusing", out.String())
			}
		})
	}
}

func TestHandshakeLine(t *testing.T) {
	got := handshakeLine(1, &net.UnixAddr{Net: "unix", Name: "/tmp/plugin42"}, "CERT")
	if got != "1|1|unix|/tmp/plugin42|grpc|CERT\n" {
		t.Fatalf("handshake line %q", got)
	}
	if strings.Count(handshakeLine(2, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5}, ""), "|") != 5 {
		t.Fatal("a line without a certificate must keep six fields")
	}
}

func TestAutoMTLSRefusesBadHostCert(t *testing.T) {
	if _, _, err := autoMTLS([]byte("not pem")); !errors.Is(err, ErrMessage) {
		t.Fatalf("autoMTLS: %v, want ErrMessage", err)
	}
}
