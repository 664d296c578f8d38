package main

import (
	"errors"
	"runtime"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsimple"
)

func TestConfigDefaults(t *testing.T) {
	var c config
	c.applyDefaults()
	if c.Implementation != implCircl || c.Strict {
		t.Fatalf("defaults %+v", c)
	}
	if want := max(1, runtime.NumCPU()/2); c.SLHDSAMaxConcurrency != want || c.SLHDSAQueueDepth != 4*want {
		t.Fatalf("queue defaults %d/%d", c.SLHDSAMaxConcurrency, c.SLHDSAQueueDepth)
	}
	if c.MaxBodyBytes != defaultBodyBytes {
		t.Fatalf("max body %d", c.MaxBodyBytes)
	}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  config
		attr string // the attribute a failure names; "" when valid
	}{
		{"ok/circl", config{Implementation: "circl"}, ""},
		{"ok/go_mixed_case", config{Implementation: " Go "}, ""},
		{"ok/limits", config{SLHDSAMaxConcurrency: 3, SLHDSAQueueDepth: 7, MaxBodyBytes: 4096}, ""},
		{"fail/implementation", config{Implementation: "openssl"}, "implementation"},
		{"fail/implementation-named-like-another-attribute", config{Implementation: "max_body_bytes"}, "implementation"},
		{"fail/negative_concurrency", config{SLHDSAMaxConcurrency: -1}, "slh_dsa_max_concurrency"},
		{"fail/huge_concurrency", config{SLHDSAMaxConcurrency: maxSLHConcurrency + 1}, "slh_dsa_max_concurrency"},
		{"fail/negative_queue", config{SLHDSAQueueDepth: -1}, "slh_dsa_queue_depth"},
		{"fail/tiny_body", config{MaxBodyBytes: 10}, "max_body_bytes"},
		{"fail/huge_body", config{MaxBodyBytes: maxBodyBytesLimit + 1}, "max_body_bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.applyDefaults()
			err := c.validate()
			ok := tc.attr == ""
			if (err == nil) != ok {
				t.Fatalf("validate() = %v", err)
			}
			if err != nil && !errors.Is(err, errConfig) {
				t.Fatalf("error %v is not errConfig", err)
			}
			var ae *configAttrError
			if err != nil && (!errors.As(err, &ae) || ae.attr != tc.attr) {
				t.Fatalf("error %v names attribute %v, want %q", err, ae, tc.attr)
			}
			if _, err := newServer(tc.cfg, testRand(1)); (err == nil) != ok {
				t.Fatalf("newServer() = %v", err)
			}
		})
	}
	if _, err := newServer(config{}, nil); !errors.Is(err, errConfig) {
		t.Fatalf("newServer without a random source: %v", err)
	}
}

func TestConfigStrictEnv(t *testing.T) {
	tests := []struct {
		name, value string
		want        bool
	}{
		{"ok/one", "1", true},
		{"ok/true", "TRUE", true},
		{"ok/unset", "", false},
		{"ok/zero", "0", false},
		{"ok/other", "yes please", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == envStrict {
					return tc.value
				}
				return ""
			}
			var c config
			c.applyEnv(getenv)
			if c.Strict != tc.want {
				t.Fatalf("strict = %v, want %v", c.Strict, tc.want)
			}
		})
	}
	c := config{Strict: true}
	c.applyEnv(func(string) string { return "0" })
	if !c.Strict {
		t.Fatal("the environment turned strict mode off")
	}
	if strictFromEnv(nil) {
		t.Fatal("nil getenv forces strict")
	}
}

func TestConfigHCL(t *testing.T) {
	src := []byte(`
strict                  = true
implementation          = "go"
slh_dsa_max_concurrency = 2
slh_dsa_queue_depth     = 3
max_body_bytes          = 65536
`)
	var c config
	if err := hclsimple.Decode("pqc.hcl", src, nil, &c); err != nil {
		t.Fatal(err)
	}
	want := config{Strict: true, Implementation: "go", SLHDSAMaxConcurrency: 2, SLHDSAQueueDepth: 3, MaxBodyBytes: 65536}
	if c != want {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}
	var empty config
	if err := hclsimple.Decode("empty.hcl", nil, nil, &empty); err != nil || empty != (config{}) {
		t.Fatalf("empty block: %+v %v", empty, err)
	}
	if err := hclsimple.Decode("bad.hcl", []byte(`strickt = true`), nil, &empty); err == nil {
		t.Fatal("an unknown attribute was accepted")
	}
}
