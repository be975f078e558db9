package kernels

// Features are the CPU capabilities the assembly kernels need. They are read
// once at start-up (see cpu_amd64.go) and are the package's only global state
// besides the kernel variants chosen from them.
type Features struct {
	AVX2FMA bool // AVX2 and FMA3: the 256-bit kernels
	F16C    bool // half-precision conversions (VCVTPH2PS, VCVTPS2PH)
	AVX512  bool // AVX-512 F, BW, DQ and VL: the 512-bit kernels
	BF16    bool // AVX-512 BF16 (VDPBF16PS, VCVTNE2PS2BF16)
	VNNI    bool // AVX-512 VNNI (VPDPBUSD)
	AMX     bool // AMX tiles with BF16 (TDPBF16PS), and the OS lets this process use them
}

// CPU reports the features detected on this machine; all false on non-amd64
// targets and under the purego build tag.
func CPU() Features { return cpuFeatures }

// FastBF16 reports whether bfloat16 products run on instructions made for
// them (AVX-512 BF16's VDPBF16PS or AMX tiles), where they are faster than
// float32 ones. Elsewhere GemmBF16 computes the same bits with float32
// arithmetic, no faster than Sgemm, so bf16 mixed precision buys nothing.
func (f Features) FastBF16() bool { return f.AMX || (f.AVX512 && f.BF16) }
