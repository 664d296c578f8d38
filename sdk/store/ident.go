package store

// MaxIdentLen is the longest schema, table or column name the helpers
// accept: PostgreSQL truncates identifiers at 63 bytes.
const MaxIdentLen = 63

// validIdent reports whether s is a lower-case SQL identifier that needs no
// quoting on either engine: [a-z_][a-z0-9_]*, at most MaxIdentLen bytes.
func validIdent(s string) bool {
	if s == "" || len(s) > MaxIdentLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// SchemaName turns a plugin instance name ("my-hsm") into the PostgreSQL
// schema its store lives in ("plugin_my_hsm"): lower case, '-' becomes '_',
// and any other byte outside [a-z0-9_] becomes '_'. The result is cut to
// MaxIdentLen bytes.
func SchemaName(instance string) string {
	b := []byte("plugin_")
	for i := 0; i < len(instance); i++ {
		c := instance[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		default:
			c = '_'
		}
		b = append(b, c)
	}
	if len(b) > MaxIdentLen {
		b = b[:MaxIdentLen]
	}
	return string(b)
}
