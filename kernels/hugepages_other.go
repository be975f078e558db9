//go:build !linux

package kernels

// AdviseHugePages asks the operating system to back buf with huge pages;
// it does nothing on this system (see the Linux version).
func AdviseHugePages(buf []float32) {}
