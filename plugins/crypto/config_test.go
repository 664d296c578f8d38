package main

import (
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		in   config
		want int64
		fail bool
	}{
		{"ok/default", config{}, defaultMaxBodyBytes, false},
		{"ok/min", config{MaxBodyBytes: 1024}, 1024, false},
		{"ok/max", config{MaxBodyBytes: 16 << 20}, 16 << 20, false},
		{"fail/too-small", config{MaxBodyBytes: 1023}, 0, true},
		{"fail/negative", config{MaxBodyBytes: -1}, 0, true},
		{"fail/too-big", config{MaxBodyBytes: 16<<20 + 1}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.in
			err := c.validate()
			if tc.fail {
				if !errors.Is(err, errConfig) {
					t.Fatalf("error %v, want errConfig", err)
				}
				return
			}
			if err != nil || c.MaxBodyBytes != tc.want {
				t.Fatalf("got %d, %v; want %d", c.MaxBodyBytes, err, tc.want)
			}
		})
	}
}

func TestApplyConfig(t *testing.T) {
	s := newServer(rand.Reader)
	c := config{MaxBodyBytes: 1024}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	s.applyConfig(c)
	body := `{"algorithm":"SHA-256","data":"` + strings.Repeat("A", 1100) + `"}`
	wantError(t, serve(s.Handler(), http.MethodPost, "/crypto/hash", body), http.StatusRequestEntityTooLarge, "request_too_large")
}
