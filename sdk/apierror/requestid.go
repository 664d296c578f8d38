package apierror

// ValidRequestID reports whether a caller-supplied request id may be kept:
// 1 to 64 bytes of letters, digits, '-', '_' and '.', safe to echo in a
// header and a log line. Anything else is replaced by a fresh id.
func ValidRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
