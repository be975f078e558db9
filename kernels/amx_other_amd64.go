//go:build amd64 && !purego && !linux

package kernels

// amxPermitted reports false: Glossa asks for the AMX tile state only on
// Linux.
func amxPermitted() bool { return false }
