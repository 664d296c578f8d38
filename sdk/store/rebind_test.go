package store

import (
	"strings"
	"testing"
)

func TestRebindDollar(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"ok/no-placeholder", `SELECT 1`, `SELECT 1`},
		{"ok/empty", ``, ``},
		{"ok/in-order", `INSERT INTO t (a, b, c) VALUES (?, ?, ?)`, `INSERT INTO t (a, b, c) VALUES ($1, $2, $3)`},
		{"ok/more-than-nine", strings.Repeat("?,", 10) + "?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11"},
		{"ok/string-literal", `SELECT '?' , ? WHERE a = 'x?y'`, `SELECT '?' , $1 WHERE a = 'x?y'`},
		{"ok/doubled-quote", `SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{"ok/empty-literal", `SELECT '', ?, ''`, `SELECT '', $1, ''`},
		{"ok/e-string-backslash", `SELECT E'a\'?', ?`, `SELECT E'a\'?', $1`},
		{"ok/backslash-in-plain-string", `SELECT 'a\', ?`, `SELECT 'a\', $1`},
		{"ok/identifier-ending-in-e", `SELECT type'?' , ?`, `SELECT type'?' , $1`},
		{"ok/quoted-identifier", `SELECT "col?" , "a""?b" FROM t WHERE x = ?`, `SELECT "col?" , "a""?b" FROM t WHERE x = $1`},
		{"ok/line-comment", "SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"ok/line-comment-at-end", "SELECT ? -- why?", "SELECT $1 -- why?"},
		{"ok/block-comment", `SELECT /* ? */ ?`, `SELECT /* ? */ $1`},
		{"ok/nested-block-comment", `SELECT /* a /* ? */ ? */ ?`, `SELECT /* a /* ? */ ? */ $1`},
		{"ok/minus-not-comment", `SELECT ? - ?`, `SELECT $1 - $2`},
		{"ok/slash-not-comment", `SELECT ? / ?`, `SELECT $1 / $2`},
		{"ok/unterminated-literal", `SELECT ?, 'abc ?`, `SELECT $1, 'abc ?`},
		{"ok/unterminated-comment", `SELECT ? /* ?`, `SELECT $1 /* ?`},
		{"ok/adjacent", `??`, `$1$2`},
		{"ok/utf8", `SELECT 'ü?', ?, "ß?"`, `SELECT 'ü?', $1, "ß?"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rebindDollar(tt.in); got != tt.want {
				t.Errorf("rebindDollar(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRebindSQLiteUnchanged(t *testing.T) {
	db, _ := openTest(t, nil)
	const q = `SELECT ? WHERE 'a?' = ?`
	if got := db.Rebind(q); got != q {
		t.Errorf("Rebind = %q, want unchanged", got)
	}
}

func FuzzRebindDollar(f *testing.F) {
	for _, s := range []string{
		``, `?`, `SELECT ?, '?', "?", ? -- ?` + "\n?", `/* /* ? */ */ ?`, `E'\'?'`, `'''?'`, `"""?"`, `/*`, `--`, `'`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out := rebindDollar(q)
		// Every ? is either kept or replaced; the rest is unchanged, so
		// putting a ? back for each $N restores the input.
		n := strings.Count(q, "?") - strings.Count(out, "?")
		if n < 0 {
			t.Fatalf("rebind added placeholders: %q -> %q", q, out)
		}
		if strings.Contains(q, "$") {
			return // the restoring oracle below cannot tell our $N from the input's
		}
		restored := out
		for i := n; i >= 1; i-- {
			tok := "$" + itoa(i)
			k := strings.LastIndex(restored, tok)
			if k < 0 {
				t.Fatalf("placeholder %s missing: %q -> %q", tok, q, out)
			}
			restored = restored[:k] + "?" + restored[k+len(tok):]
		}
		if restored != q {
			t.Fatalf("rebind changed more than placeholders: %q -> %q", q, out)
		}
		if n == 0 && out != q {
			t.Fatalf("no placeholder but output differs: %q -> %q", q, out)
		}
	})
}

// itoa formats small non-negative ints without strconv, keeping the fuzz
// oracle independent of the implementation.
func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}
