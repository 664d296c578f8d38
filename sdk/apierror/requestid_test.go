package apierror

import (
	"strings"
	"testing"
)

func TestValidRequestID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"ok/hex", "0123456789abcdef0123456789abcdef", true},
		{"ok/punctuation", "req-1_a.B", true},
		{"ok/one-char", "x", true},
		{"ok/64-chars", strings.Repeat("a", 64), true},
		{"fail/empty", "", false},
		{"fail/65-chars", strings.Repeat("a", 65), false},
		{"fail/space", "a b", false},
		{"fail/newline", "a\nb", false},
		{"fail/nul", "a\x00", false},
		{"fail/slash", "a/b", false},
		{"fail/quote", `a"b`, false},
		{"fail/html", "<script>", false},
		{"fail/non-ascii", "é", false},
		{"fail/colon", "a:b", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidRequestID(tc.id); got != tc.want {
				t.Fatalf("ValidRequestID(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}

func FuzzValidRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", strings.Repeat("z", 64), strings.Repeat("z", 65), "\xff", "a\r\nX-Evil: 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !ValidRequestID(id) {
			return
		}
		// An accepted id is safe to echo in a header and a log line.
		if len(id) == 0 || len(id) > 64 || strings.ContainsAny(id, " \t\r\n\"'<>/\\:;,") {
			t.Fatalf("accepted %q", id)
		}
		for i := 0; i < len(id); i++ {
			if id[i] < 0x21 || id[i] > 0x7e {
				t.Fatalf("accepted non-printable byte in %q", id)
			}
		}
	})
}
