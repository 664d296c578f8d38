//go:build !linux

package plugin

import "net"

// peerPID: only Linux names the process behind a unix socket here, so
// elsewhere the socket keeps its file-mode protection alone.
func peerPID(net.Conn) (int, error) { return 0, errPeerUnknown }
