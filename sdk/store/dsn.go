package store

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// redactedPassword replaces a password in RedactDSN's output.
const redactedPassword = "xxxxx"

// RedactDSN returns dsn with its password masked, for logs, errors and
// `config validate` output. It understands both PostgreSQL forms: the URL
// (postgres://user:secret@host/db?password=secret) and key=value pairs
// (host=db password='secret'). A DSN it cannot parse is replaced whole by
// "(redacted)", since it cannot tell where a password would be.
func RedactDSN(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if strings.ContainsFunc(dsn, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
			return "(redacted)"
		}
		return redactURLDSN(dsn)
	}
	out, ok := redactKeywordDSN(dsn)
	if !ok {
		return "(redacted)"
	}
	return out
}

func redactURLDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(redacted)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redactedPassword)
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "(redacted)"
	}
	if _, has := q["password"]; has {
		q.Set("password", redactedPassword)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactKeywordDSN rewrites key=value pairs, values optionally single-quoted
// with backslash escapes (libpq's syntax), masking the password's value. It
// reports false on anything it cannot tokenise, and on an empty or
// space-led value.
func redactKeywordDSN(dsn string) (string, bool) {
	var b strings.Builder
	i := 0
	skipSpace := func() {
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
	}
	first := true
	for {
		skipSpace()
		if i == len(dsn) {
			return b.String(), true
		}
		start := i
		for i < len(dsn) && dsn[i] != '=' && !isSpace(dsn[i]) {
			i++
		}
		key := dsn[start:i]
		skipSpace()
		if key == "" || i == len(dsn) || dsn[i] != '=' {
			return "", false
		}
		i++
		// An empty value, or one after spaces, is refused: libpq would
		// take what follows as the value, which may be a password.
		if i == len(dsn) || isSpace(dsn[i]) {
			return "", false
		}
		var val string
		if i < len(dsn) && dsn[i] == '\'' {
			vs := i
			i++
			closed := false
			for i < len(dsn) {
				if dsn[i] == '\\' {
					i += 2
					continue
				}
				if dsn[i] == '\'' {
					closed = true
					i++
					break
				}
				i++
			}
			if !closed || i > len(dsn) {
				return "", false
			}
			val = dsn[vs:i]
		} else {
			vs := i
			for i < len(dsn) && !isSpace(dsn[i]) {
				if dsn[i] == '\\' {
					i++
				}
				i++
			}
			if i > len(dsn) {
				return "", false
			}
			val = dsn[vs:i]
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(key)
		b.WriteByte('=')
		if key == "password" {
			b.WriteString(redactedPassword)
		} else {
			b.WriteString(val)
		}
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// CheckDSN reports whether dsn is a PostgreSQL connection string pgx can
// use, without connecting. Its error never quotes the DSN.
func CheckDSN(dsn string) error {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return fmt.Errorf("%w: the dsn cannot be parsed (its value is not shown)", ErrInvalidOptions)
	}
	return nil
}

// DSNEndpoints returns the TCP ports and the unix socket directories a
// PostgreSQL DSN connects to (fallback hosts included), so that a sandbox
// can let a plugin reach them and nothing else.
func DSNEndpoints(dsn string) (ports []uint16, socketDirs []string, err error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the dsn cannot be parsed (its value is not shown)", ErrInvalidOptions)
	}
	add := func(host string, port uint16) {
		if strings.HasPrefix(host, "/") {
			if !slices.Contains(socketDirs, host) {
				socketDirs = append(socketDirs, host)
			}
			return
		}
		if !slices.Contains(ports, port) {
			ports = append(ports, port)
		}
	}
	add(cfg.Host, cfg.Port)
	for _, f := range cfg.Fallbacks {
		add(f.Host, f.Port)
	}
	return ports, socketDirs, nil
}
