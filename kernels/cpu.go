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
