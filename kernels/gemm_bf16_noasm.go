//go:build !amd64 || purego

package kernels

// gemmBF16Native is nil without assembly: GemmBF16 runs its generic twin.
var gemmBF16Native *gemmBF16Kernels

// gemmBF16VDP is false without assembly: no VDPBF16PS kernels.
const gemmBF16VDP = false

// bf16PairRowsVec is nil without assembly: bf16PairRows runs in Go.
var bf16PairRowsVec func(n int, r0, r1 *float32, dst *uint16, stride int)
