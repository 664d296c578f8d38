//go:build !linux

package pluginhost

import (
	"os"
	"os/exec"
	"syscall"

	"github.com/aunsorm/aunsorm/sdk/sandbox"
)

// sandboxStart: only Linux confines a process. Elsewhere a plugin starts
// as it is, unless the launch requires Landlock or another user.
var sandboxStart = func(cmd *exec.Cmd, p sandbox.Policy) (*sandbox.Confinement, error) {
	if p.Landlock == sandbox.LandlockRequired || p.Credential != nil {
		return nil, sandbox.ErrUnsupported
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &sandbox.Confinement{Capabilities: "not managed on this platform", UID: os.Getuid(), GID: os.Getgid()}, nil
}

// identify: the daemon runs plugins on Linux; elsewhere (a plugin author's
// machine running sdk/plugintest) the digest is computed at every launch.
func identify(string) (fileID, bool) { return fileID{}, false }

// sysProcAttr: only Linux has a parent-death signal; the lifeline pipe
// still ends the plugin when the host exits.
func sysProcAttr() *syscall.SysProcAttr { return nil }
