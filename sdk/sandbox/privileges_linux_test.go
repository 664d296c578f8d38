package sandbox

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// status returns the fields of a /proc/.../status file.
func status(t *testing.T, text string) map[string]string {
	t.Helper()
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// noLandlock is a policy that leaves files alone: the privileges part only.
var noLandlock = Policy{Landlock: LandlockOff}

// A confined process has no capability in any set, cannot gain any, and
// runs under the seccomp filter, whatever user started it.
func TestPrivileges(t *testing.T) {
	cmd := exec.Command("/bin/cat", "/proc/self/status")
	var out bytes.Buffer
	cmd.Stdout = &out
	c, err := Start(cmd, noLandlock)
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	c.Release()
	if err != nil {
		t.Fatal(err)
	}
	st := status(t, out.String())
	zero := "0000000000000000"
	for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
		if st[set] != zero {
			t.Errorf("%s = %q, want %s", set, st[set], zero)
		}
	}
	// Only a launcher holding CAP_SETPCAP (root) can empty the bounding set.
	if os.Geteuid() == 0 {
		if st["CapBnd"] != zero || c.Capabilities != "none" {
			t.Errorf("CapBnd = %q (reported %q), want %s", st["CapBnd"], c.Capabilities, zero)
		}
	}
	if st["NoNewPrivs"] != "1" || st["Seccomp"] != "2" {
		t.Errorf("NoNewPrivs %q, Seccomp %q; want 1 and 2", st["NoNewPrivs"], st["Seccomp"])
	}
	if c.Landlock != 0 || !c.Seccomp || !c.NoNewPrivs || c.UID != os.Getuid() || c.GID != os.Getgid() {
		t.Errorf("reported %+v", c)
	}
}

// probes are calls of denied system calls whose outcome does not depend on
// privileges: unfiltered they fail for another reason (or succeed), so an
// EPERM can only come from the filter.
var probes = map[string]func() syscall.Errno{
	"clock_settime": func() syscall.Errno {
		_, _, e := unix.Syscall(unix.SYS_CLOCK_SETTIME, 100, 0, 0) // no such clock
		return e
	},
	"clock_adjtime": func() syscall.Errno {
		var tx unix.Timex // modes 0: only reads
		_, _, e := unix.Syscall(unix.SYS_CLOCK_ADJTIME, unix.CLOCK_REALTIME, uintptr(unsafe.Pointer(&tx)), 0)
		return e
	},
	"adjtimex": func() syscall.Errno {
		var tx unix.Timex
		_, _, e := unix.Syscall(unix.SYS_ADJTIMEX, uintptr(unsafe.Pointer(&tx)), 0, 0)
		return e
	},
	"ptrace": func() syscall.Errno {
		_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_CONT, 0x7ffffff0, 0, 0, 0, 0) // no such process
		return e
	},
	"process_vm_readv": func() syscall.Errno {
		_, _, e := unix.Syscall6(unix.SYS_PROCESS_VM_READV, 0x7ffffff0, 0, 0, 0, 0, 0)
		return e
	},
	"keyctl": func() syscall.Errno {
		_, _, e := unix.Syscall(unix.SYS_KEYCTL, 9999, 0, 0) // no such operation
		return e
	},
	"execveat": func() syscall.Errno {
		empty := []byte{0}
		_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, ^uintptr(0), uintptr(unsafe.Pointer(&empty[0])), 0, 0, 0, 0) // fd -1
		return e
	},
}

// TestHelperProbe is the child of TestDeniedSystemCalls: it prints each
// probe's errno.
func TestHelperProbe(t *testing.T) {
	if os.Getenv("SANDBOX_HELPER_PROBE") == "" {
		t.Skip("helper for TestDeniedSystemCalls")
	}
	for name, probe := range probes {
		fmt.Printf("%s %d\n", name, probe())
	}
}

func TestDeniedSystemCalls(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProbe$")
	cmd.Env = append(os.Environ(), "SANDBOX_HELPER_PROBE=1")
	out, err := runConfined(t, cmd, noLandlock)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if name, errno, ok := strings.Cut(l, " "); ok {
			got[name] = errno
		}
	}
	for name, probe := range probes {
		t.Run(name, func(t *testing.T) {
			// Unconfined, the same call is not refused for want of privilege.
			if e := probe(); e == unix.EPERM {
				t.Fatalf("unconfined %s: EPERM; the probe cannot tell the filter from privileges", name)
			}
			if got[name] != strconv.Itoa(int(unix.EPERM)) {
				t.Fatalf("confined %s: errno %q, want EPERM (%d); output %q", name, got[name], unix.EPERM, out)
			}
		})
	}
}

// run executes the filter on a system call as the kernel would. x/net/bpf
// loads words big-endian, so the seccomp_data fields are laid out so.
func run(t *testing.T, vm *bpf.VM, archID uint32, nr int) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.BigEndian.PutUint32(data[0:], uint32(nr))
	binary.BigEndian.PutUint32(data[4:], archID)
	v, err := vm.Run(data)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(v)
}

func TestFilterProgram(t *testing.T) {
	eperm := unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	enosys := unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	// At least these are refused on every architecture plugins run on.
	required := []string{"clock_settime", "settimeofday", "adjtimex", "clock_adjtime", "mount", "umount2",
		"ptrace", "kexec_load", "init_module", "finit_module", "delete_module", "bpf", "keyctl",
		"reboot", "swapon", "swapoff"}
	for _, info := range []*arch.Info{arch.X86_64, arch.AARCH64} {
		t.Run("ok/covers-"+info.Name, func(t *testing.T) {
			denied := deniedOn(info)
			for _, name := range required {
				if !slices.Contains(denied, name) {
					t.Errorf("%s is not refused", name)
				}
			}
		})
	}
	native, err := arch.GetInfo("")
	if err != nil {
		t.Fatal(err)
	}
	insts, err := filterProgram()
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(insts)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ok/denied", func(t *testing.T) {
		for _, name := range deniedOn(native) {
			if got := run(t, vm, uint32(native.ID), native.SyscallNames[name]); got != eperm {
				t.Errorf("%s: action %#x, want EPERM", name, got)
			}
		}
	})
	t.Run("ok/allowed", func(t *testing.T) {
		for _, name := range []string{"read", "write", "openat", "execve", "clone", "futex", "clock_gettime", "socket", "prctl", "seccomp"} {
			if got := run(t, vm, uint32(native.ID), native.SyscallNames[name]); got != unix.SECCOMP_RET_ALLOW {
				t.Errorf("%s: action %#x, want allow", name, got)
			}
		}
	})
	// Another ABI of the machine (i386 through int 0x80 on amd64) numbers
	// its calls differently: all of them are refused.
	t.Run("fail/foreign-abi", func(t *testing.T) {
		for _, other := range []*arch.Info{arch.I386, arch.ARM, arch.X86_64, arch.AARCH64} {
			if other.ID == native.ID {
				continue
			}
			for _, name := range []string{"read", "clock_settime"} {
				if got := run(t, vm, uint32(other.ID), other.SyscallNames[name]); got != enosys {
					t.Errorf("%s %s: action %#x, want ENOSYS", other.Name, name, got)
				}
			}
		}
	})
	t.Run("fail/x32", func(t *testing.T) {
		if native != arch.X86_64 {
			t.Skip("x32 is an amd64 ABI")
		}
		// The x32 ABI shares amd64's architecture id, with bit 30 set.
		if got := run(t, vm, uint32(arch.X86_64.ID), arch.X32.SyscallNames["clock_settime"]|0x40000000); got != enosys {
			t.Fatalf("x32 clock_settime: action %#x, want ENOSYS", got)
		}
	})
}

func TestCredential(t *testing.T) {
	needRoot(t)
	needLandlock(t, 1)
	const nobody = 65534
	cmd := exec.Command("/bin/sh", "-c", "id -u; id -g; id -G; cat /proc/self/status")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	c, err := Start(cmd, Policy{Landlock: LandlockOff, Credential: &Credential{UID: nobody, GID: nobody}})
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	c.Release()
	if err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	lines := strings.SplitN(out.String(), "\n", 4)
	if len(lines) < 4 || lines[0] != "65534" || lines[1] != "65534" || lines[2] != "65534" {
		t.Fatalf("ids: %q", out.String())
	}
	st := status(t, lines[3])
	if st["CapBnd"] != "0000000000000000" || st["CapPrm"] != "0000000000000000" || st["Seccomp"] != "2" {
		t.Fatalf("status: %q", lines[3])
	}
	if c.UID != nobody || c.GID != nobody {
		t.Fatalf("reported uid %d gid %d", c.UID, c.GID)
	}
	// The user's own restrictions hold together with Landlock's.
	dir := t.TempDir()
	p := system()
	p.Write = append(p.Write, dir)
	p.Credential = &Credential{UID: nobody, GID: nobody}
	if out, err := sh(t, p, "id -u; echo x > "+filepath.Join(dir, "f")); err == nil || !strings.HasPrefix(out, "65534\n") {
		t.Fatalf("nobody, confined, writing into root's 0700 directory: %q, %v", out, err)
	}
}

// The credential switch, the dropped capabilities and the filter stay on
// the thread that forked the child: no other thread of the launcher has
// them.
func TestOnlyTheForkingThreadIsConfined(t *testing.T) {
	p := noLandlock
	want := strconv.Itoa(os.Getuid())
	if os.Geteuid() == 0 {
		p.Credential = &Credential{UID: 65534, GID: 65534}
		want = "65534"
	}
	// confined returns the filtered threads (tid → uid); every other thread
	// must still be the launcher's user, unfiltered.
	confined := func() map[string]string {
		tasks, err := filepath.Glob("/proc/self/task/*/status")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, f := range tasks {
			b, err := os.ReadFile(f)
			if err != nil {
				continue // the thread ended meanwhile
			}
			st := status(t, string(b))
			uid := strings.Fields(st["Uid"])[0]
			switch {
			case st["Seccomp"] == "2":
				m[filepath.Base(filepath.Dir(f))] = uid
			case uid != strconv.Itoa(os.Getuid()) || st["NoNewPrivs"] != "0":
				t.Errorf("thread %s: uid %s, no_new_privs %s", f, uid, st["NoNewPrivs"])
			}
		}
		return m
	}
	// Threads of earlier tests' launches may still be ending.
	before := confined()
	cmd := exec.Command("/bin/sh", "-c", "read x") // runs until stdin closes
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(cmd, p)
	if err != nil {
		t.Fatal(err)
	}
	during := confined()
	stdin.Close()
	_ = cmd.Wait()
	c.Release()
	var added []string
	for tid, uid := range during {
		if _, old := before[tid]; !old {
			added = append(added, uid)
		}
	}
	if len(added) != 1 || added[0] != want {
		t.Fatalf("new filtered threads while one child runs: uids %v, want one (uid %s)", added, want)
	}
	if os.Getuid() != os.Geteuid() || (os.Geteuid() == 0 && unix.Prctl(unix.PR_CAPBSET_READ, unix.CAP_SYS_TIME, 0, 0, 0) != nil) {
		t.Fatal("the launcher lost its privileges")
	}
}

func TestRefusesSysProcAttrCredential(t *testing.T) {
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1}}
	if _, err := Start(cmd, noLandlock); err == nil || cmd.Process != nil {
		t.Fatalf("err %v, started %v", err, cmd.Process != nil)
	}
}
