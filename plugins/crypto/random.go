package main

import (
	"encoding/binary"
	"math"
	"net/http"

	"github.com/aunsorm/aunsorm/sdk/apierror"
)

// randomBytesRequest is the query of GET /crypto/random. The bounds are
// 1 and 65536 bytes.
type randomBytesRequest struct {
	Bytes int64 `query:"bytes" json:"-" api:"required,min=1,max=65536" doc:"How many random bytes to return, 1 to 65536."`
}

// randomNumberRequest is the query of GET /random/number.
type randomNumberRequest struct {
	Min int64 `query:"min" json:"-" api:"required" doc:"The smallest value that may be drawn (int64)."`
	Max int64 `query:"max" json:"-" api:"required" doc:"The largest value that may be drawn (int64), not below min."`
}

// randomBytesResponse is the answer of GET /crypto/random.
type randomBytesResponse struct {
	Bytes int    `json:"bytes"`
	Data  string `json:"data" api:"base64url"`
}

// randomNumberResponse is the answer of GET /random/number.
type randomNumberResponse struct {
	Min   int64 `json:"min"`
	Max   int64 `json:"max"`
	Value int64 `json:"value"`
}

// randomBytes returns ?bytes=N bytes from the platform DRBG.
func (s *server) randomBytes(_ *http.Request, req *randomBytesRequest) (*randomBytesResponse, error) {
	n := req.Bytes
	buf := make([]byte, n)
	defer wipe(buf)
	if err := s.readRandom(buf); err != nil {
		return nil, err
	}
	return &randomBytesResponse{Bytes: int(n), Data: encode(buf)}, nil
}

// randomNumber returns an integer drawn uniformly from [min, max].
func (s *server) randomNumber(_ *http.Request, req *randomNumberRequest) (*randomNumberResponse, error) {
	lo, hi := req.Min, req.Max
	if lo > hi {
		return nil, apierror.BadRequest("query parameter \"min\" (%d) must not exceed \"max\" (%d)", lo, hi)
	}
	v, err := s.uniformInt64(lo, hi)
	if err != nil {
		return nil, err
	}
	return &randomNumberResponse{Min: lo, Max: hi, Value: v}, nil
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

// isStrictInt reports whether s is -?(0|[1-9][0-9]*) and not "-0": the
// syntax sdk/route accepts for an integer query parameter, pinned here by
// the plugin's tests.
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
