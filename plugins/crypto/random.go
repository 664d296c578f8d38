package main

import (
	"encoding/binary"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// Bounds of GET /crypto/random.
const (
	minRandomBytes = 1
	maxRandomBytes = 65536
)

// randomBytesResponse is the answer of GET /crypto/random.
type randomBytesResponse struct {
	Bytes int    `json:"bytes"`
	Data  string `json:"data"`
}

// randomNumberResponse is the answer of GET /random/number.
type randomNumberResponse struct {
	Min   int64 `json:"min"`
	Max   int64 `json:"max"`
	Value int64 `json:"value"`
}

// randomBytes returns ?bytes=N bytes from the platform DRBG.
func (s *server) randomBytes(r *http.Request) (any, error) {
	q, err := parseQuery(r, "bytes")
	if err != nil {
		return nil, err
	}
	n, err := queryInt(q, "bytes")
	if err != nil {
		return nil, err
	}
	if n < minRandomBytes || n > maxRandomBytes {
		return nil, apierror.BadRequest("query parameter \"bytes\" must be between %d and %d, got %d", minRandomBytes, maxRandomBytes, n)
	}
	buf := make([]byte, n)
	defer wipe(buf)
	if err := s.readRandom(buf); err != nil {
		return nil, err
	}
	return randomBytesResponse{Bytes: int(n), Data: encode(buf)}, nil
}

// randomNumber returns an integer drawn uniformly from [min, max].
func (s *server) randomNumber(r *http.Request) (any, error) {
	q, err := parseQuery(r, "min", "max")
	if err != nil {
		return nil, err
	}
	lo, err := queryInt(q, "min")
	if err != nil {
		return nil, err
	}
	hi, err := queryInt(q, "max")
	if err != nil {
		return nil, err
	}
	if lo > hi {
		return nil, apierror.BadRequest("query parameter \"min\" (%d) must not exceed \"max\" (%d)", lo, hi)
	}
	v, err := s.uniformInt64(lo, hi)
	if err != nil {
		return nil, err
	}
	return randomNumberResponse{Min: lo, Max: hi, Value: v}, nil
}

// uniformInt64 draws from [lo, hi] with no modulo bias. The span is taken in
// uint64 arithmetic, so the whole int64 range works. A 64-bit candidate v is
// rejected when it falls below 2^64 mod n: the values left form a whole
// number of runs of n consecutive integers, so v mod n is uniform.
func (s *server) uniformInt64(lo, hi int64) (int64, error) {
	span := uint64(hi) - uint64(lo) // n - 1
	if span == 0 {
		return lo, nil
	}
	var buf [8]byte
	for range maxRejections {
		if err := s.readRandom(buf[:]); err != nil {
			return 0, err
		}
		v := binary.BigEndian.Uint64(buf[:])
		if span == math.MaxUint64 {
			return int64(uint64(lo) + v), nil
		}
		n := span + 1
		if v < -n%n { // 2^64 mod n, computed without overflow
			continue
		}
		return int64(uint64(lo) + v%n), nil
	}
	return 0, errRandomRejected
}

// parseQuery parses the raw query strictly: it must be valid, carry only
// the allowed parameters, each at most once.
func parseQuery(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, apierror.BadRequest("malformed query string")
	}
	for k, vs := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return nil, apierror.BadRequest("unknown query parameter %q", clip(k))
		}
		if len(vs) > 1 {
			return nil, apierror.BadRequest("query parameter %q given more than once", k)
		}
	}
	return q, nil
}

// queryInt parses a required decimal int64 strictly: an optional '-', then
// digits without a leading zero; no '+', spaces, "-0", hex or overflow.
func queryInt(q url.Values, name string) (int64, error) {
	vs, ok := q[name]
	if !ok {
		return 0, apierror.BadRequest("query parameter %q is required", name)
	}
	v := vs[0]
	if !isStrictInt(v) {
		return 0, apierror.BadRequest("query parameter %q must be a decimal integer", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, apierror.BadRequest("query parameter %q is out of the int64 range", name)
	}
	return n, nil
}

// isStrictInt reports whether s is -?(0|[1-9][0-9]*) and not "-0".
func isStrictInt(s string) bool {
	digits := s
	if len(s) > 0 && s[0] == '-' {
		digits = s[1:]
	}
	if digits == "" || (digits[0] == '0' && (len(digits) > 1 || len(s) > 1)) {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}
