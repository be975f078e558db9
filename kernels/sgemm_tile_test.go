package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tileTestValues returns n float32 values over a wide range of magnitudes,
// with zeros, infinities, NaNs, subnormals and values near the largest
// float32 mixed in.
func tileTestValues(rng *rand.Rand, n int) []float32 {
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.Float32frombits(0x7f800001), math.MaxFloat32, -math.MaxFloat32,
		3.3961e38, 1e-40, -1e-39, math.SmallestNonzeroFloat32, 1.1754944e-38, 1}
	s := make([]float32, n)
	for i := range s {
		if rng.IntN(8) == 0 {
			s[i] = specials[rng.IntN(len(specials))]
			continue
		}
		s[i] = float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(80)-40)))
	}
	return s
}

func bf16Value(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// TestSplitBF16 checks that the three parts add up to x exactly for finite
// x (bar parts below bfloat16's normal range), that each part is the
// rounding of what is left, and the documented special cases.
func TestSplitBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, x := range tileTestValues(rng, 20000) {
		hi, mid, lo := splitBF16(x)
		h := bf16Value(hi)
		switch {
		case x != x:
			if h == h || mid != 0 || lo != 0 {
				t.Fatalf("split(NaN) = %#x %#x %#x, want a NaN and zeros", hi, mid, lo)
			}
		case math.IsInf(float64(x), 0):
			if mid != 0 || lo != 0 || math.Signbit(float64(h)) != math.Signbit(float64(x)) {
				t.Fatalf("split(%g) = %#x %#x %#x, want ±Inf and zeros", x, hi, mid, lo)
			}
		case math.Abs(float64(x)) >= 0x1p-100:
			sum := float64(h) + float64(bf16Value(mid)) + float64(bf16Value(lo))
			if sum != float64(x) {
				t.Fatalf("split(%g): parts %g %g %g add up to %g", x, h, bf16Value(mid), bf16Value(lo), sum)
			}
			want := f32ToBF16(x)
			if want&0x7fff == 0x7f80 { // rounds past the largest bfloat16: truncated
				want = uint16(math.Float32bits(x) >> 16)
			}
			if hi != want {
				t.Fatalf("split(%g): first part %#x, want %#x", x, hi, want)
			}
		}
	}
}

// TestTilePackAsm checks the assembly packers against the Go ones, bit for
// bit, for every kind, on whole panels over several strides and depths.
func TestTilePackAsm(t *testing.T) {
	if tilePackFast == nil {
		t.Skip("no assembly packers on this target")
	}
	rng := rand.New(rand.NewPCG(43, 44))
	for _, chunks := range []int{1, 2, 5} {
		depth := chunks * tileDepth
		for _, pad := range []int{0, 1, 17} {
			for kind := 0; kind < 4; kind++ {
				trans := kind == 1 || kind == 3
				// The source as stored: rows × cols with stride ld.
				rows, cols := 32, depth // A, or Bᵀ stored [j][p]
				if kind == 1 || kind == 2 {
					rows, cols = depth, 32
				}
				ld := cols + pad
				src := tileTestValues(rng, rows*ld)
				got := make([]float32, tilePanel(depth))
				want := make([]float32, tilePanel(depth))
				for i := range got {
					got[i], want[i] = 7, 7 // every slot must be written
				}
				tilePackFast(kind, chunks, src, ld, got)
				if kind < 2 {
					packRowsTileGeneric(want, src, ld, trans, 0, 32, 0, depth, 0)
				} else {
					packColsTileGeneric(want, src, ld, trans, 0, depth, 0, 32, 0)
				}
				g, w := bf16Slots(got), bf16Slots(want)
				for i := range g {
					if g[i] != w[i] {
						t.Fatalf("kind %d chunks %d ld %d: bfloat16 %d is %#x, want %#x", kind, chunks, ld, i, g[i], w[i])
					}
				}
			}
		}
	}
}

// TestSgemmTileSpecial checks the AMX variant's documented handling of
// non-finite inputs (NaN, and ±Inf, give NaN), that a value near the largest
// float32 stays finite, and that C is never read when beta is 0.
func TestSgemmTileSpecial(t *testing.T) {
	var amx *sgemmKernels
	for _, v := range sgemmVariants() {
		if v.panel != nil {
			amx = v
		}
	}
	if amx == nil {
		t.Skip("no AMX on this machine")
	}
	const n = 64
	a, b := make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = 0.5, 0.25
	}
	inf := float32(math.Inf(1))
	a[3*n+5] = inf                    // row 3 of C: NaN (Inf·0 in the split's lower products)
	a[7*n+1] = float32(math.NaN())    // row 7: NaN
	b[2*n+9] = math.MaxFloat32 / 1e30 // large but finite: no overflow
	c := make([]float32, n*n)
	for i := range c {
		c[i] = float32(math.NaN()) // beta 0: must not be read
	}
	sgemmBlocked(amx, false, false, n, n, n, 1, a, n, b, n, 0, c, n, nil, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			got := c[i*n+j]
			switch {
			case i == 7 || i == 3:
				if got == got {
					t.Fatalf("C[%d,%d] = %g, want NaN", i, j, got)
				}
			default:
				want := float32(n) * 0.125
				if j == 9 {
					want = float32(n-1)*0.125 + 0.5*(math.MaxFloat32/1e30)
				}
				if d := math.Abs(float64(got - want)); d > 1e-6*math.Abs(float64(want)) {
					t.Fatalf("C[%d,%d] = %g, want %g", i, j, got, want)
				}
			}
		}
	}
}

// BenchmarkTilePack times the AMX packers on one 32-wide panel of depth
// 384, per kind (A, Aᵀ, B, Bᵀ as stored).
func BenchmarkTilePack(b *testing.B) {
	if tilePackFast == nil {
		b.Skip("no assembly packers on this target")
	}
	const depth, ld = 384, 1536
	src := tileTestValues(rand.New(rand.NewPCG(45, 46)), depth*ld)
	dst := make([]float32, tilePanel(depth))
	for kind, name := range []string{"A", "AT", "B", "BT"} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(32 * depth * 4)
			for range b.N {
				tilePackFast(kind, depth/tileDepth, src, ld, dst)
			}
		})
	}
}
