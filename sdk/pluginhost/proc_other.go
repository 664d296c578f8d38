//go:build !linux

package pluginhost

import "syscall"

// identify: the daemon runs plugins on Linux; elsewhere (a plugin author's
// machine running sdk/plugintest) the digest is computed at every launch.
func identify(string) (fileID, bool) { return fileID{}, false }

// sysProcAttr: only Linux has a parent-death signal; the lifeline pipe
// still ends the plugin when the host exits.
func sysProcAttr() *syscall.SysProcAttr { return nil }
