package config

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedacted(t *testing.T) {
	const src = `
clock {
  source                = "remote"
  refresh_url           = "https://user:hunter2@attestor.example/clock"
  authority_fingerprint = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}
admin {
  listen     = "127.0.0.1:50020"
  token_file = "/etc/aunsorm/admin.token"
}
plugin "kms" {
  command = "bin/aunsorm-plugin-kms"
  env     = { DB_PASSWORD = "s3cret-env" }
  config {
    dsn = "postgres://kms:s3cret-dsn@db/kms"
  }
}
`
	c, diags := parseString(src, nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	b, err := json.Marshal(c.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, secret := range []string{"hunter2", "s3cret-env", "s3cret-dsn"} {
		t.Run("ok/hides-"+secret, func(t *testing.T) {
			if strings.Contains(out, secret) {
				t.Errorf("redacted config contains %q: %s", secret, out)
			}
		})
	}
	for _, shown := range []string{
		`"DB_PASSWORD":"(redacted)"`,
		`"config":"(redacted)"`,
		`"token_file":"/etc/aunsorm/admin.token"`,
		`"refresh_url":"https://user:xxxxx@attestor.example/clock"`,
		`"hash":"` + c.Plugins[0].Hash + `"`,
		`"read_timeout":"15s"`,
		`"listen":"127.0.0.1:50014"`,
		`"seal":{"key_file":"data/seal/root.keys","source":"file"}`,
	} {
		t.Run("ok/shows-"+shown, func(t *testing.T) {
			if !strings.Contains(out, shown) {
				t.Errorf("redacted config lacks %s: %s", shown, out)
			}
		})
	}
}
