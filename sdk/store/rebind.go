package store

import (
	"strconv"
	"strings"
)

// rebindDollar rewrites each ? placeholder of query into $1, $2, … in order,
// the PostgreSQL syntax. A ? is left alone inside:
//
//   - string literals '…', where a doubled quote is an escaped quote, and
//     E'…' literals, where a backslash also escapes the next character;
//   - quoted identifiers "…" (likewise);
//   - line comments -- … and block comments /* … */, which may nest.
//
// Dollar-quoted strings ($tag$ … $tag$) and PostgreSQL's ?-operators on jsonb
// are not recognised: queries meant for Rebind do not use them. An
// unterminated literal or comment runs to the end of the query, unchanged.
func rebindDollar(query string) string {
	if strings.IndexByte(query, '?') < 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i++
		case c == '\'':
			escapes := i > 0 && (query[i-1] == 'E' || query[i-1] == 'e') && (i < 2 || !isIdentByte(query[i-2]))
			j := skipQuoted(query, i, '\'', escapes)
			b.WriteString(query[i:j])
			i = j
		case c == '"':
			j := skipQuoted(query, i, '"', false)
			b.WriteString(query[i:j])
			i = j
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query)
			} else {
				j += i + 1
			}
			b.WriteString(query[i:j])
			i = j
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			j := skipBlockComment(query, i)
			b.WriteString(query[i:j])
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// skipQuoted returns the index just past the quoted run that starts at
// query[start] == quote. A doubled quote is an escaped quote; with
// backslashes, a backslash escapes the byte after it.
func skipQuoted(query string, start int, quote byte, backslashes bool) int {
	for i := start + 1; i < len(query); i++ {
		switch query[i] {
		case '\\':
			if backslashes {
				i++
			}
		case quote:
			if i+1 < len(query) && query[i+1] == quote {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(query)
}

// skipBlockComment returns the index just past the (possibly nested) block
// comment that starts at query[start:start+2] == "/*".
func skipBlockComment(query string, start int) int {
	depth := 0
	for i := start; i+1 < len(query); {
		switch {
		case query[i] == '/' && query[i+1] == '*':
			depth++
			i += 2
		case query[i] == '*' && query[i+1] == '/':
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return len(query)
}

// isIdentByte reports whether c can be part of an unquoted SQL identifier.
func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
