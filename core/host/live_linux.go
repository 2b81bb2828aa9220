package host

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// onFirstCPU runs fn on an OS thread pinned to the lowest-numbered CPU of
// the process's affinity mask, then restores the thread's mask.
func onFirstCPU(fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		fn()
		return
	}
	first := -1
	for i := 0; i < len(old)*64; i++ {
		if old.IsSet(i) {
			first = i
			break
		}
	}
	if first < 0 {
		fn()
		return
	}
	var one unix.CPUSet
	one.Set(first)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		fn()
		return
	}
	defer unix.SchedSetaffinity(0, &old)
	fn()
}

func (l live) Kernel() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}
