//go:build amd64 && !purego && linux

package kernels

import "golang.org/x/sys/unix"

// amxPermitted asks Linux for the right to use the AMX tile registers
// (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA, which every process needs
// before its first tile instruction) and reports whether it was granted.
func amxPermitted() bool {
	const archReqXcompPerm, xfeatureXtiledata = 0x1023, 18
	_, _, errno := unix.RawSyscall(unix.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXtiledata, 0)
	return errno == 0
}
