package config

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStorage(t *testing.T) {
	const secret = "pw-s3cret"
	tests := []struct {
		name       string
		src        string
		env        map[string]string
		want       Storage
		wantErr    string // substring of the formatted diagnostics
		wantShown  string // substring of Redacted()
		notInDiags string
	}{
		{name: "ok/default-sqlite", src: ``, want: Storage{Driver: StorageSQLite}, wantShown: `"storage":{"driver":"sqlite"}`},
		{name: "ok/postgres", src: `storage {
  driver = "postgres"
  dsn = "postgres://app:` + secret + `@db:5432/aunsorm"
  max_conns = 4
}`, want: Storage{Driver: StoragePostgres, DSN: "postgres://app:" + secret + "@db:5432/aunsorm", MaxConns: 4},
			wantShown: `"dsn":"postgres://app:xxxxx@db:5432/aunsorm"`},
		{name: "ok/dsn-from-env-selects-postgres", src: ``, env: map[string]string{EnvStorageDSN: "host=db password=" + secret},
			want: Storage{Driver: StoragePostgres, DSN: "host=db password=" + secret}, wantShown: `"max_conns":10`},
		{name: "ok/env-overrides-file-dsn", src: `storage {
  driver = "postgres"
  dsn = "postgres://db/x"
}`, env: map[string]string{EnvStorageDSN: "postgres://db/y"}, want: Storage{Driver: StoragePostgres, DSN: "postgres://db/y"}},
		{name: "fail/postgres-without-dsn", src: `storage {
  driver = "postgres"
}`, wantErr: "Missing dsn"},
		{name: "fail/dsn-with-sqlite", src: `storage {
  driver = "sqlite"
  dsn = "postgres://db/x"
}`, wantErr: "Unexpected dsn"},
		{name: "fail/env-dsn-with-sqlite", src: `storage {
  driver = "sqlite"
}`, env: map[string]string{EnvStorageDSN: "postgres://db/x"}, wantErr: EnvStorageDSN},
		{name: "fail/unknown-driver", src: `storage {
  driver = "mysql"
}`, wantErr: "Invalid storage driver"},
		{name: "fail/bad-dsn-not-echoed", src: `storage {
  driver = "postgres"
  dsn = "postgres://app:` + secret + `@db:port/x"
}`, wantErr: "Invalid dsn", notInDiags: secret},
		{name: "fail/max-conns-too-large", src: `storage {
  driver = "postgres"
  dsn = "postgres://db/x"
  max_conns = 5000
}`, wantErr: "Invalid max_conns"},
		{name: "fail/max-conns-negative", src: `storage {
  driver = "postgres"
  dsn = "postgres://db/x"
  max_conns = -1
}`, wantErr: "Invalid max_conns"},
		{name: "fail/duplicate-block", src: "storage {}\nstorage {}", wantErr: "Duplicate storage block"},
		{name: "fail/unknown-attribute", src: `storage {
  password = "x"
}`, wantErr: "Unsupported argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := parseString(tt.src, tt.env)
			formatted := FormatDiagnostics(diags)
			if tt.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(formatted, tt.wantErr) {
					t.Fatalf("diagnostics = %q, want an error with %q", formatted, tt.wantErr)
				}
				if tt.notInDiags != "" && strings.Contains(formatted, tt.notInDiags) {
					t.Errorf("diagnostics quote the secret: %q", formatted)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(formatted)
			}
			if c.Storage != tt.want {
				t.Errorf("Storage = %+v, want %+v", c.Storage, tt.want)
			}
			b, err := json.Marshal(c.Redacted())
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), secret) {
				t.Errorf("Redacted() leaks the password: %s", b)
			}
			if tt.wantShown != "" && !strings.Contains(string(b), tt.wantShown) {
				t.Errorf("Redacted() lacks %s: %s", tt.wantShown, b)
			}
		})
	}
}
