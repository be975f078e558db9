//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

var cpuFeatures = Features{
	AVX2FMA: cpu.X86.HasAVX2 && cpu.X86.HasFMA,
	F16C:    cpu.X86.HasF16C,
	AVX512:  cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL,
	BF16:    cpu.X86.HasAVX512BF16,
	VNNI:    cpu.X86.HasAVX512VNNI,
	AMX:     cpu.X86.HasAVX512F && cpu.X86.HasAMXTile && cpu.X86.HasAMXBF16 && amxPermitted(),
}
