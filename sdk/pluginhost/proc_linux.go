package pluginhost

import (
	"os"
	"syscall"

	"github.com/aunsorm/aunsorm/sdk/sandbox"
)

// sandboxStart is sandbox.Start; tests replace it to play a kernel without
// Landlock.
var sandboxStart = sandbox.Start

// identify names the file at path by device, inode, size, modification
// and change times; false when it cannot be read.
func identify(path string) (fileID, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return fileID{}, false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(sys.Dev), ino: sys.Ino, size: st.Size(),
		mtime: sys.Mtim.Nano(), ctime: sys.Ctim.Nano()}, true
}

// sysProcAttr has the kernel kill the plugin when the thread that started
// it exits: a second layer under the lifeline pipe.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
