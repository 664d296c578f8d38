package pluginhost

import (
	"os"

	"github.com/aunsorm/aunsorm/sdk/sandbox"
)

// systemRead is what any plugin binary may need to read: the dynamic
// loader and libraries, certificate stores, name resolution and time zone
// files. Paths missing on a machine are skipped.
var systemRead = []string{
	"/bin", "/lib", "/lib32", "/lib64", "/usr",
	"/etc/ssl", "/etc/pki", "/etc/ca-certificates",
	"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
	"/etc/services", "/etc/protocols", "/etc/localtime",
	"/dev/urandom",
}

// SandboxPolicy is the confinement the daemon gives a plugin: read the
// system files above (Launch adds the plugin's binary), read and write its
// data directory and /dev/null, plus what the operator added. Nothing
// else: not another plugin's data, not the daemon's data directory or
// configuration, not /proc. No TCP connection either, but to the connect
// ports (its own listener and the daemon's sockets are inherited or unix).
func SandboxPolicy(dataDir string, read, write []string, connect []uint16) sandbox.Policy {
	p := sandbox.Policy{Optional: map[string]bool{}, ConnectTCP: connect}
	for _, s := range systemRead {
		p.Read = append(p.Read, s)
		p.Optional[s] = true
	}
	p.Read = append(p.Read, read...)
	p.Write = append(p.Write, os.DevNull)
	if dataDir != "" {
		p.Write = append(p.Write, dataDir)
	}
	p.Write = append(p.Write, write...)
	return p
}
