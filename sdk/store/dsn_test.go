package store

import (
	"fmt"
	"strings"
	"testing"
)

func TestRedactDSN(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"ok/url-password", "postgres://app:s3cret@db:5432/aunsorm?sslmode=verify-full", "postgres://app:xxxxx@db:5432/aunsorm?sslmode=verify-full"},
		{"ok/url-no-password", "postgresql://app@db/aunsorm", "postgresql://app@db/aunsorm"},
		{"ok/url-query-password", "postgres://db/aunsorm?user=app&password=s3cret", "postgres://db/aunsorm?password=xxxxx&user=app"},
		{"ok/keywords", "host=db user=app password=s3cret dbname=aunsorm", "host=db user=app password=xxxxx dbname=aunsorm"},
		{"ok/keywords-quoted", `host=db password='s3 c\'ret' dbname=x`, "host=db password=xxxxx dbname=x"},
		{"ok/keywords-spaced", "host =db   password =s3cret", "host=db password=xxxxx"},
		{"fail/space-after-equals", "host= password=s3cret", "(redacted)"},
		{"fail/url-with-space", "postgres://u@h/d password=s3cret", "(redacted)"},
		{"ok/empty", "", ""},
		{"fail/unterminated-quote", "host=db password='s3cret", "(redacted)"},
		{"fail/no-equals", "s3cret", "(redacted)"},
		{"fail/bad-url", "postgres://app:s3cret@db:port/x", "(redacted)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactDSN(tt.in)
			if got != tt.want {
				t.Errorf("RedactDSN(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.Contains(got, "s3") {
				t.Errorf("RedactDSN(%q) leaks the password: %q", tt.in, got)
			}
		})
	}
}

// FuzzRedactDSN checks that a password never survives redaction, whatever
// the DSN around it looks like.
func FuzzRedactDSN(f *testing.F) {
	for _, s := range []string{"host=db user=app", "", "postgres://u@h/d", "dbname='a b'", "host=h port=1 sslmode=disable"} {
		f.Add(s)
	}
	const secret = "Zq9SecretPw"
	f.Fuzz(func(t *testing.T, prefix string) {
		if strings.Contains(prefix, secret) || strings.ContainsAny(prefix, "'\\") {
			return
		}
		for _, dsn := range []string{
			prefix + " password=" + secret,
			prefix + " password='" + secret + "'",
			"postgres://u:" + secret + "@h/d?" + prefix,
		} {
			if got := RedactDSN(dsn); strings.Contains(got, secret) {
				t.Fatalf("RedactDSN(%q) = %q leaks the password", dsn, got)
			}
		}
	})
}

func TestDSNEndpoints(t *testing.T) {
	tests := []struct {
		name      string
		dsn       string
		wantPorts []uint16
		wantDirs  []string
		wantErr   bool
	}{
		{"ok/url", "postgres://u:p@db:6543/x", []uint16{6543}, nil, false},
		{"ok/default-port", "postgres://db/x", []uint16{5432}, nil, false},
		{"ok/socket", "host=/run/postgresql dbname=x", nil, []string{"/run/postgresql"}, false},
		{"ok/fallbacks", "postgres://a:1111,b:2222/x", []uint16{1111, 2222}, nil, false},
		{"fail/unparsable", "postgres://u:p@db:port/x", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ports, dirs, err := DSNEndpoints(tt.dsn)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if fmt.Sprint(ports) != fmt.Sprint(tt.wantPorts) || fmt.Sprint(dirs) != fmt.Sprint(tt.wantDirs) {
				t.Errorf("= %v, %v; want %v, %v", ports, dirs, tt.wantPorts, tt.wantDirs)
			}
		})
	}
}
