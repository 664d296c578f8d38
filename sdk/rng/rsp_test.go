package rng

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// rspCase is one COUNT of a NIST CAVP DRBG response file, with the section
// header ("[SHA-512]", "[PredictionResistance = True]", ...) it sits under.
type rspCase struct {
	line    int               // line of "COUNT = n"
	section map[string]string // bracketed header: name -> value ("" for [SHA-512])
	count   string
	// fields in file order; DRBG files repeat names (AdditionalInput twice,
	// EntropyInputPR twice), so values are kept as lists.
	fields map[string][][]byte
	order  []string
}

// hash returns the section's hash name, e.g. "SHA-512".
func (c *rspCase) hash() string {
	for k, v := range c.section {
		if v == "" && strings.HasPrefix(k, "SHA-") {
			return k
		}
	}
	return ""
}

// get returns the i-th value of field name (nil when the field is empty).
func (c *rspCase) get(name string, i int) ([]byte, error) {
	vs := c.fields[name]
	if i >= len(vs) {
		return nil, fmt.Errorf("line %d: COUNT %s has no %s #%d", c.line, c.count, name, i+1)
	}
	return vs[i], nil
}

// parseRSP reads the CAVP .rsp format: '#' comments, blank lines, bracketed
// section headers ("[SHA-256]", "[NonceLen = 128]") and "Name = hexvalue"
// fields, a case starting at each "COUNT = n". Lines starting with "**" or
// a tab (intermediate values in the .txt variants) are skipped.
func parseRSP(r io.Reader) ([]*rspCase, error) {
	var (
		cases     []*rspCase
		cur       *rspCase
		section   = map[string]string{}
		inHeaders bool // last non-blank line was a header
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		case strings.HasPrefix(line, "**") || strings.HasPrefix(line, "\t"):
			continue
		case strings.HasPrefix(trimmed, "["):
			if !strings.HasSuffix(trimmed, "]") {
				return nil, fmt.Errorf("line %d: unterminated header", n)
			}
			if !inHeaders {
				section = map[string]string{}
				inHeaders = true
			}
			name, value, _ := strings.Cut(trimmed[1:len(trimmed)-1], "=")
			section[strings.TrimSpace(name)] = strings.TrimSpace(value)
			cur = nil
			continue
		}
		inHeaders = false
		name, value, ok := strings.Cut(trimmed, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected name = value", n)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if name == "COUNT" {
			if len(section) == 0 {
				return nil, fmt.Errorf("line %d: COUNT outside a section", n)
			}
			cur = &rspCase{line: n, section: section, count: value, fields: map[string][][]byte{}}
			cases = append(cases, cur)
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: field %q before COUNT", n, name)
		}
		b, err := hex.DecodeString(value)
		if err != nil {
			return nil, fmt.Errorf("line %d: field %q: bad hex", n, name)
		}
		cur.fields[name] = append(cur.fields[name], b)
		cur.order = append(cur.order, name)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(cases) == 0 {
		return nil, errors.New("no test cases")
	}
	return cases, nil
}
