package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// endpoint is a parsed host:port listen address.
type endpoint struct {
	host string // as written, without brackets; "" means every interface
	ip   netip.Addr
	port int
}

// parseListen parses a host:port listen address. It returns a problem
// description instead of an error.
func parseListen(s string) (endpoint, string) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return endpoint{}, fmt.Sprintf("%q is not a host:port address (for example \"127.0.0.1:50010\")", truncate(s))
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 || portStr == "" || strings.ContainsAny(portStr, "+-") {
		return endpoint{}, fmt.Sprintf("%q has an invalid port; use a number from 0 to 65535", truncate(s))
	}
	ep := endpoint{host: host, port: port}
	if host == "" {
		return ep, ""
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return endpoint{}, fmt.Sprintf("%q: zoned IPv6 addresses are not supported", truncate(s))
		}
		ep.ip = ip.Unmap()
		return ep, ""
	}
	if !validHostname(host) {
		return endpoint{}, fmt.Sprintf("%q has an invalid host; use an IP address or a host name", truncate(s))
	}
	return ep, ""
}

// validHostname accepts DNS names made of letters, digits, '-' and '.'.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// wildcard reports whether the endpoint binds every interface.
func (e endpoint) wildcard() bool {
	return e.host == "" || (e.ip.IsValid() && e.ip.IsUnspecified())
}

// loopback reports whether the endpoint binds only a loopback interface.
func (e endpoint) loopback() bool {
	if e.ip.IsValid() {
		return e.ip.IsLoopback()
	}
	return strings.EqualFold(strings.TrimSuffix(e.host, "."), "localhost")
}

// clashes reports whether two listeners would fight over the same socket:
// the same port (other than 0, which picks a free port) on overlapping hosts.
// A wildcard host overlaps every host; "localhost" overlaps loopback
// addresses; two different host names are assumed not to overlap.
func (e endpoint) clashes(o endpoint) bool {
	if e.port != o.port || e.port == 0 {
		return false
	}
	switch {
	case e.wildcard() || o.wildcard():
		return true
	case e.ip.IsValid() && o.ip.IsValid():
		return e.ip == o.ip
	case e.ip.IsValid() || o.ip.IsValid():
		return e.loopback() && o.loopback()
	default:
		return strings.EqualFold(strings.TrimSuffix(e.host, "."), strings.TrimSuffix(o.host, "."))
	}
}
