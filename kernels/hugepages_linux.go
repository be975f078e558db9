//go:build linux

package kernels

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// AdviseHugePages asks the operating system to back the whole pages of buf
// with huge pages (on Linux, madvise MADV_HUGEPAGE: 2 MiB pages on x86-64),
// for large, long-lived buffers that kernels stream through, such as a
// training step's activations: fewer TLB misses, and physically contiguous
// memory, so that which cache sets the buffer maps to no longer varies from
// run to run. It takes effect on pages not yet touched; errors are ignored
// (it is a hint, and a no-op on other systems or where huge pages are off).
func AdviseHugePages(buf []float32) {
	if len(buf) == 0 {
		return
	}
	const page = 4096
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), 4*len(buf))
	start := uintptr(unsafe.Pointer(&b[0]))
	lo := (start + page - 1) &^ (page - 1)
	hi := (start + uintptr(len(b))) &^ (page - 1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(b[lo-start:hi-start], unix.MADV_HUGEPAGE)
}
