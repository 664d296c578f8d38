package sandbox

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

func abi() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0, fmt.Errorf("%w: %v", ErrUnsupported, errno)
	}
	if v < 1 {
		return 0, ErrUnsupported
	}
	return int(v), nil
}

// Rights Landlock can grant, by the ABI that introduced them.
const (
	readRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	abi1Rights = readRights | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
		unix.LANDLOCK_ACCESS_FS_MAKE_REG | unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK | unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	// fileRights are the ones that apply to a file (not a directory).
	fileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
)

// ruleNetPort and netPortAttr are LANDLOCK_RULE_NET_PORT and struct
// landlock_net_port_attr (ABI 4), which x/sys/unix does not define.
const ruleNetPort = 2

type netPortAttr struct {
	allowed uint64
	port    uint64
}

// handled is every file system right the kernel at this ABI knows: all of
// them are refused unless a rule grants them.
func handled(abi int) uint64 {
	r := uint64(abi1Rights)
	if abi >= 2 {
		r |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		r |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		r |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	return r
}

func start(cmd *exec.Cmd, p Policy) (*Confinement, error) {
	if cmd.SysProcAttr != nil && cmd.SysProcAttr.Credential != nil {
		return nil, errors.New("sandbox: set Policy.Credential, not SysProcAttr.Credential")
	}
	v := 0
	if p.Landlock != LandlockOff {
		var err error
		if v, err = abi(); err != nil && p.Landlock == LandlockRequired {
			return nil, err
		}
	}
	filter, err := seccompFilter()
	if err != nil {
		return nil, err
	}
	type result struct {
		c   *Confinement
		err error
	}
	res := make(chan result, 1)
	done := make(chan struct{})
	go func() {
		// The thread is never unlocked: it ends with this goroutine, and its
		// confinement (credentials included) with it.
		runtime.LockOSThread()
		c, err := confineThread(v, p, filter)
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			res <- result{err: err}
			return
		}
		res <- result{c: c}
		<-done // the child's Pdeathsig is tied to this thread
	}()
	r := <-res
	if r.err != nil {
		return nil, r.err
	}
	var once sync.Once
	r.c.release = func() { once.Do(func() { close(done) }) }
	return r.c, nil
}

// confineThread confines the calling thread (only it: these system calls
// act on one thread) so that the next process it forks inherits it: a
// Landlock ruleset (abi > 0) for p, p's credential, no capabilities,
// no_new_privs and the seccomp filter. The order matters: the rules are
// opened with the launcher's access, the bounding set can only be emptied
// while CAP_SETPCAP is held, and the user and group only switched while
// CAP_SETUID and CAP_SETGID are.
func confineThread(abi int, p Policy, filter []unix.SockFilter) (*Confinement, error) {
	ruleset := -1
	if abi > 0 {
		var err error
		if ruleset, err = landlockRuleset(abi, p); err != nil {
			return nil, err
		}
		defer unix.Close(ruleset)
	}
	c := &Confinement{Landlock: abi}
	bounding, err := dropPrivileges(p.Credential)
	if err != nil {
		return nil, err
	}
	c.Capabilities = "none"
	if !bounding {
		c.Capabilities = "none, bounding set kept"
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("sandbox: no_new_privs: %w", err)
	}
	c.NoNewPrivs = true
	if ruleset >= 0 {
		if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); errno != 0 {
			return nil, fmt.Errorf("sandbox: restrict: %w", errno)
		}
	}
	if err := loadSeccomp(filter); err != nil {
		return nil, err
	}
	c.Seccomp = true
	// What the kernel says this thread is now, not what was asked for.
	c.UID, c.GID = threadIDs()
	return c, nil
}

// landlockRuleset returns a Landlock ruleset for p that handles every file
// system right the kernel at abi knows, so that all of them are refused
// unless a rule grants them.
func landlockRuleset(abi int, p Policy) (int, error) {
	all := handled(abi)
	attr := unix.LandlockRulesetAttr{Handled_access_fs: all}
	if abi >= 4 {
		attr.Handled_access_net = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	}
	if abi >= 6 {
		attr.Scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
	}
	// The kernel reads the leading fields it knows; later ones are zero.
	size := unsafe.Sizeof(attr.Handled_access_fs) + unsafe.Sizeof(attr.Handled_access_net)
	if abi >= 6 {
		size += unsafe.Sizeof(attr.Scoped)
	}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return -1, fmt.Errorf("sandbox: create ruleset: %w", errno)
	}
	ruleset := int(fd)
	if err := addRules(ruleset, abi, all, p); err != nil {
		unix.Close(ruleset)
		return -1, err
	}
	return ruleset, nil
}

func addRules(ruleset, abi int, all uint64, p Policy) error {
	for _, path := range p.Read {
		if err := addRule(ruleset, path, readRights, p.Optional[path]); err != nil {
			return err
		}
	}
	for _, path := range p.Write {
		// W^X: what the process may write, it may not execute.
		if err := addRule(ruleset, path, all&^unix.LANDLOCK_ACCESS_FS_EXECUTE, p.Optional[path]); err != nil {
			return err
		}
	}
	if abi >= 4 {
		for _, port := range p.ConnectTCP {
			rule := netPortAttr{allowed: unix.LANDLOCK_ACCESS_NET_CONNECT_TCP, port: uint64(port)}
			if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), ruleNetPort,
				uintptr(unsafe.Pointer(&rule)), 0, 0, 0); errno != 0 {
				return fmt.Errorf("sandbox: rule for TCP port %d: %w", port, errno)
			}
		}
	}
	return nil
}

// addRule grants rights on path and everything below it (only the rights
// that apply to a file, when it is one).
func addRule(ruleset int, path string, rights uint64, optional bool) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		if optional && errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("sandbox: %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("sandbox: %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		rights &= fileRights
	}
	rule := unix.LandlockPathBeneathAttr{Allowed_access: rights, Parent_fd: int32(fd)}
	if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&rule)), 0, 0, 0); errno != 0 {
		return fmt.Errorf("sandbox: rule for %s: %w", path, errno)
	}
	return nil
}
