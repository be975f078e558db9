package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// Every test runs once per vector variant this CPU supports (generic first)
// against float64 references, with the tolerance stated beside each kernel.

func TestVariantsComplete(t *testing.T) {
	optional := map[string]bool{"geluDeriv": true} // composed from gelu and geluBackward when nil
	for _, v := range vecVariants {
		rv := reflect.ValueOf(v)
		for i := range rv.NumField() {
			if f := rv.Field(i); f.Kind() == reflect.Func && f.IsNil() && !optional[rv.Type().Field(i).Name] {
				t.Errorf("variant %s: no %s kernel", v.name, rv.Type().Field(i).Name)
			}
		}
	}
}

// forEachVariant runs f as a subtest with each variant installed.
func forEachVariant(t *testing.T, f func(t *testing.T)) {
	for _, v := range vecVariants {
		t.Run(v.name, func(t *testing.T) {
			defer useVecVariant(v.name)()
			f(t)
		})
	}
}

// testLengths are the row lengths the tests cover: every length up to 257
// (all tail sizes around one to sixteen blocks) and a few big ones.
var testLengths = func() []int {
	var ns []int
	for n := 0; n <= 257; n++ {
		ns = append(ns, n)
	}
	return append(ns, 1000, 4099, 65537)
}()

// offsets are the start offsets (in elements) of the slices under test, so
// unaligned starts are covered.
var offsets = []int{0, 1, 3}

// specials are values every element-wise kernel is also run on.
var specials = []float32{
	0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5,
	float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
	math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
	1e-38, -1e-38, 1e-20, -1e-20, 1e-4, -1e-4,
	10, -10, 20, -20, 88.7, 88.8, 89, -87.3, -88, -100, -103.9, -104, -105, 1e10, -1e10,
}

// rng returns the tests' deterministic source.
func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// randSlice returns n values uniform in [lo, hi) starting at offset off of a
// larger buffer.
func randSlice(r *rand.Rand, n, off int, lo, hi float64) []float32 {
	buf := make([]float32, n+off)
	for i := range buf {
		buf[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return buf[off:]
}

// tolerance accepts got when it equals want, both are NaN, it is within ulps
// units in the last place of want (as a float32), or within abs of it.
type tolerance struct {
	ulps float64
	abs  float64
}

func (tl tolerance) ok(got float32, want float64) bool {
	g := float64(got)
	if w32 := float64(float32(want)); math.IsInf(w32, 0) {
		want = w32 // beyond the float32 range
	}
	switch {
	case math.IsNaN(want) || math.IsNaN(g):
		return math.IsNaN(want) && math.IsNaN(g)
	case math.IsInf(want, 0) || math.IsInf(g, 0):
		return g == want || math.Abs(g-want) <= tl.abs
	}
	d := math.Abs(g - want)
	return d <= tl.abs || d <= tl.ulps*ulp(want)
}

// ulp returns the spacing of float32 values at |x| (the subnormal spacing
// near zero).
func ulp(x float64) float64 {
	x = math.Abs(x)
	if x < 0x1p-126 {
		return 0x1p-149
	}
	_, e := math.Frexp(x) // x = m·2^e, 0.5 ≤ m < 1
	return math.Ldexp(1, e-24)
}

// ulpDist returns |got − want| in units of want's ulp.
func ulpDist(got float32, want float64) float64 {
	return math.Abs(float64(got)-want) / ulp(want)
}

// checkSlice compares got[i] with want(i) under tol and reports the first few
// mismatches.
func checkSlice(t *testing.T, what string, got []float32, want func(i int) float64, tol tolerance, input func(i int) string) {
	t.Helper()
	bad := 0
	for i, g := range got {
		w := want(i)
		if !tol.ok(g, w) {
			if bad++; bad <= 5 {
				t.Errorf("%s[%d] (%s) = %v, want %v (%.2f ulp)", what, i, input(i), g, w, ulpDist(g, w))
			}
		}
	}
}

// The element-wise activations with their float64 references, input ranges
// and tolerances.
var unaryCases = []struct {
	name   string
	f      func(dst, x []float32)
	ref    func(x float64) float64
	lo, hi float64
	tol    tolerance
}{
	{"Exp", Exp, math.Exp, -90, 90, tolerance{ulps: 2}},
	{"Tanh", Tanh, math.Tanh, -6, 6, tolerance{ulps: 4}},
	{"ReLU", ReLU, func(x float64) float64 {
		if x > 0 || x != x {
			return x
		}
		return 0
	}, -5, 5, tolerance{}},
	{"SiLU", SiLU, func(x float64) float64 { return x / (1 + math.Exp(-x)) }, -20, 20, tolerance{ulps: 4, abs: 1e-35}},
	// Φ(x) = ½·erfc(−x/√2), accurate in the negative tail.
	{"GELU", GELU, func(x float64) float64 { return 0.5 * x * math.Erfc(-x*invSqrt2) }, -12, 8, tolerance{ulps: 8, abs: 1e-8}},
	// 0.5·x·(1 + tanh(u)) = x·σ(2u), without the cancellation for x ≪ 0.
	{"GELUTanh", GELUTanh, func(x float64) float64 {
		return x / (1 + math.Exp(-2*sqrt2OverPi*(x+geluCoeff*x*x*x)))
	}, -8, 8, tolerance{ulps: 4, abs: 2e-7}},
}

func TestUnary(t *testing.T) {
	for _, c := range unaryCases {
		t.Run(c.name, func(t *testing.T) {
			forEachVariant(t, func(t *testing.T) {
				r := rng(1)
				for _, n := range testLengths {
					for _, off := range offsets {
						x := randSlice(r, n, off, c.lo, c.hi)
						dst := make([]float32, n)
						c.f(dst, x)
						checkSlice(t, fmt.Sprintf("%s n=%d off=%d", c.name, n, off), dst,
							func(i int) float64 { return c.ref(float64(x[i])) }, c.tol,
							func(i int) string { return fmt.Sprint(x[i]) })
						// In place.
						c.f(x, x)
						for i := range x {
							if math.Float32bits(x[i]) != math.Float32bits(dst[i]) {
								t.Fatalf("%s n=%d in place: [%d] = %v, want %v", c.name, n, i, x[i], dst[i])
							}
						}
					}
				}
				x := append([]float32(nil), specials...)
				dst := make([]float32, len(x))
				c.f(dst, x)
				checkSlice(t, c.name+" specials", dst, func(i int) float64 { return c.ref(float64(x[i])) }, c.tol,
					func(i int) string { return fmt.Sprint(x[i]) })
			})
		})
	}
}

// TestExpRange sweeps exp over the whole float32 range in which its result is
// neither 0 nor +Inf, in small steps, and checks the worst error.
func TestExpRange(t *testing.T) {
	step := 1999
	if testing.Short() {
		step = 19999
	}
	var xs []float32
	for _, sign := range []uint32{0, 1 << 31} {
		for b := uint32(0); b < 0x42d00000; b += uint32(step) { // |x| < 104
			xs = append(xs, math.Float32frombits(sign|b))
		}
	}
	forEachVariant(t, func(t *testing.T) {
		dst := make([]float32, len(xs))
		Exp(dst, xs)
		worst, at := 0.0, float32(0)
		for i, x := range xs {
			want := math.Exp(float64(x))
			if want > math.MaxFloat32 {
				if !math.IsInf(float64(dst[i]), 1) {
					t.Errorf("Exp(%v) = %v, want +Inf", x, dst[i])
				}
				continue
			}
			if d := ulpDist(dst[i], want); d > worst {
				worst, at = d, x
			}
		}
		t.Logf("%d inputs: worst error %.3f ulp at x = %v", len(xs), worst, at)
		if worst > 2 {
			t.Errorf("Exp: worst error %.3f ulp at x = %v, want ≤ 2", worst, at)
		}
	})
}

// The backward passes of the activations, dx = dy·f'(x).
var backwardCases = []struct {
	name   string
	f      func(dx, x, dy []float32)
	deriv  func(x float64) float64
	lo, hi float64
	tol    tolerance
}{
	{"GELUBackward", GELUBackward, func(x float64) float64 {
		return 0.5*math.Erfc(-x*invSqrt2) + x*invSqrt2Pi*math.Exp(-0.5*x*x)
	}, -8, 8, tolerance{ulps: 4, abs: 2e-7}},
	{"GELUTanhBackward", GELUTanhBackward, func(x float64) float64 {
		u := sqrt2OverPi * (x + geluCoeff*x*x*x)
		th := math.Tanh(u)
		return 0.5*(1+th) + 0.5*x*(1-th*th)*sqrt2OverPi*(1+3*geluCoeff*x*x)
	}, -8, 8, tolerance{ulps: 4, abs: 1e-6}},
	{"SiLUBackward", SiLUBackward, func(x float64) float64 {
		s := 1 / (1 + math.Exp(-x))
		return s * (1 + x*(1-s))
	}, -20, 20, tolerance{ulps: 4, abs: 1e-6}},
}

func TestBackward(t *testing.T) {
	for _, c := range backwardCases {
		t.Run(c.name, func(t *testing.T) {
			forEachVariant(t, func(t *testing.T) {
				r := rng(2)
				for _, n := range testLengths {
					for _, off := range offsets {
						x := randSlice(r, n, off, c.lo, c.hi)
						dy := randSlice(r, n, off, -2, 2)
						dx := make([]float32, n)
						c.f(dx, x, dy)
						// The absolute tolerance is per unit of dy.
						for i, g := range dx {
							tol := tolerance{ulps: c.tol.ulps, abs: c.tol.abs * math.Abs(float64(dy[i]))}
							if want := float64(dy[i]) * c.deriv(float64(x[i])); !tol.ok(g, want) {
								t.Fatalf("%s n=%d off=%d [%d] (x=%v dy=%v) = %v, want %v (%.2f ulp)",
									c.name, n, off, i, x[i], dy[i], g, want, ulpDist(g, want))
							}
						}
						c.f(dy, x, dy) // dx aliasing dy
						for i := range dy {
							if !(tolerance{}).ok(dy[i], float64(dx[i])) {
								t.Fatalf("%s n=%d aliased: [%d] = %v, want %v", c.name, n, i, dy[i], dx[i])
							}
						}
					}
				}
				x := append([]float32(nil), specials...)
				dy := make([]float32, len(x))
				for i := range dy {
					dy[i] = 1
				}
				dx := make([]float32, len(x))
				c.f(dx, x, dy)
				for i, v := range x {
					want := c.deriv(float64(v))
					if math.IsInf(float64(v), 0) {
						continue // 0·Inf forms; the limits are not part of the contract
					}
					if !c.tol.ok(dx[i], want) {
						t.Errorf("%s(%v) = %v, want %v", c.name, v, dx[i], want)
					}
				}
			})
		})
	}
}

func TestTanhReLUBackward(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		r := rng(13)
		for _, n := range testLengths {
			for _, off := range offsets {
				x := randSlice(r, n, off, -3, 3)
				if n > 2 {
					x[0], x[1], x[2] = float32(math.NaN()), 0, float32(math.Copysign(0, -1))
				}
				y := make([]float32, n)
				TanhGeneric(y, x)
				dy := randSlice(r, n, off+1, -2, 2)
				dx := make([]float32, n)
				TanhBackward(dx, y, dy)
				for i, g := range dx {
					// 1 − y² may cancel: one ulp of 1 per unit of dy.
					want := float64(dy[i]) * (1 - float64(y[i])*float64(y[i]))
					tol := tolerance{ulps: 2, abs: 0x1p-23 * math.Abs(float64(dy[i]))}
					if !tol.ok(g, want) {
						t.Fatalf("TanhBackward n=%d off=%d [%d] (y=%v dy=%v) = %v, want %v", n, off, i, y[i], dy[i], g, want)
					}
				}
				ReLUBackward(dx, x, dy)
				for i, g := range dx {
					want := float32(0)
					if x[i] > 0 {
						want = dy[i]
					}
					if math.Float32bits(g) != math.Float32bits(want) {
						t.Fatalf("ReLUBackward n=%d off=%d [%d] (x=%v dy=%v) = %v, want %v", n, off, i, x[i], dy[i], g, want)
					}
				}
				ReLUBackward(dy, x, dy) // dx aliasing dy
				for i := range dy {
					if dy[i] != dx[i] {
						t.Fatalf("ReLUBackward n=%d aliased [%d] = %v, want %v", n, i, dy[i], dx[i])
					}
				}
			}
		}
	})
}

func TestBinary(t *testing.T) {
	ops := []struct {
		name string
		f    func(dst, x, y []float32)
		ref  func(x, y float32) float32
	}{
		{"Add", Add, func(x, y float32) float32 { return x + y }},
		{"Sub", Sub, func(x, y float32) float32 { return x - y }},
		{"Mul", Mul, func(x, y float32) float32 { return x * y }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			forEachVariant(t, func(t *testing.T) {
				r := rng(3)
				for _, n := range testLengths {
					for _, off := range offsets {
						x, y := randSlice(r, n, off, -10, 10), randSlice(r, n, 2*off, -10, 10)
						if n > 0 {
							x[0], y[n-1] = float32(math.NaN()), float32(math.Inf(-1))
						}
						dst := make([]float32, n)
						op.f(dst, x, y)
						// Correctly rounded float32 results: exact.
						checkSlice(t, fmt.Sprintf("%s n=%d off=%d", op.name, n, off), dst,
							func(i int) float64 { return float64(op.ref(x[i], y[i])) }, tolerance{},
							func(i int) string { return fmt.Sprint(x[i], y[i]) })
					}
				}
			})
		})
	}
}

func TestAxpyScale(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		r := rng(4)
		for _, n := range testLengths {
			for _, off := range offsets {
				x, y := randSlice(r, n, off, -10, 10), randSlice(r, n, off+1, -10, 10)
				const alpha = 0.7
				want := make([]float64, n)
				for i := range want {
					want[i] = alpha*float64(x[i]) + float64(y[i])
				}
				Axpy(alpha, x, y)
				// One or two roundings: within one ulp of the exact sum
				// of magnitudes.
				for i, g := range y {
					if d := math.Abs(float64(g) - want[i]); d > ulp(math.Abs(alpha*float64(x[i]))+math.Abs(want[i])) {
						t.Fatalf("Axpy n=%d off=%d [%d] = %v, want %v", n, off, i, g, want[i])
					}
				}
				ys := append([]float32(nil), y...)
				Scale(-3, y)
				checkSlice(t, fmt.Sprintf("Scale n=%d", n), y, func(i int) float64 { return float64(-3 * ys[i]) },
					tolerance{}, func(i int) string { return fmt.Sprint(ys[i]) })
			}
		}
	})
}

// reductionTol is the error bound the reductions are held to: n·2⁻²⁴ times
// the sum of the terms' magnitudes (the classic worst case of recursive
// summation in float32) plus a little slack for tiny sums.
func reductionTol(n int, absSum float64) float64 {
	return float64(n+2)*0x1p-24*absSum + 1e-30
}

func TestReductions(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		r := rng(5)
		for _, n := range testLengths {
			for _, off := range offsets {
				x, y := randSlice(r, n, off, -2, 2), randSlice(r, n, off+2, -2, 2)
				var dot, dotAbs, sum, sumAbs, bf, bfAbs float64
				w := make([]uint16, n)
				for i := range x {
					dot += float64(x[i]) * float64(y[i])
					dotAbs += math.Abs(float64(x[i]) * float64(y[i]))
					sum += float64(x[i])
					sumAbs += math.Abs(float64(x[i]))
					w[i] = f32ToBF16(y[i])
					wf := float64(math.Float32frombits(uint32(w[i]) << 16))
					bf += float64(x[i]) * wf
					bfAbs += math.Abs(float64(x[i]) * wf)
				}
				if got := Dot(x, y); math.Abs(float64(got)-dot) > reductionTol(n, dotAbs) {
					t.Errorf("Dot n=%d off=%d = %v, want %v", n, off, got, dot)
				}
				if got := Sum(x); math.Abs(float64(got)-sum) > reductionTol(n, sumAbs) {
					t.Errorf("Sum n=%d off=%d = %v, want %v", n, off, got, sum)
				}
				if got := DotBF16(x, w); math.Abs(float64(got)-bf) > reductionTol(n, bfAbs) {
					t.Errorf("DotBF16 n=%d off=%d = %v, want %v", n, off, got, bf)
				}
			}
		}
		inf, nan := float32(math.Inf(1)), float32(math.NaN())
		if got := Sum([]float32{1, inf, 2}); !math.IsInf(float64(got), 1) {
			t.Errorf("Sum with +Inf = %v", got)
		}
		if got := Dot([]float32{1, nan, 2}, []float32{1, 1, 1}); !math.IsNaN(float64(got)) {
			t.Errorf("Dot with NaN = %v", got)
		}
	})
}

func TestMax(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	forEachVariant(t, func(t *testing.T) {
		r := rng(6)
		for _, n := range testLengths {
			for _, off := range offsets {
				x := randSlice(r, n, off, -100, 100)
				want := math.Inf(-1)
				for i := range x {
					if i%37 == 5 {
						x[i] = float32(nan)
						continue
					}
					want = math.Max(want, float64(x[i]))
				}
				if n > 0 && want == math.Inf(-1) {
					want = nan
				}
				if got := Max(x); !(tolerance{}).ok(got, want) {
					t.Errorf("Max n=%d off=%d = %v, want %v", n, off, got, want)
				}
			}
		}
		for _, c := range []struct {
			x    []float64
			want float64
		}{
			{nil, -inf},
			{[]float64{nan}, nan},
			{[]float64{nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan}, nan},
			{[]float64{-inf, -inf}, -inf},
			{[]float64{-inf, nan, -inf}, -inf},
			{[]float64{nan, 1, inf, 3}, inf},
			{[]float64{-3e38, -1e-45}, -1e-45},
		} {
			x := make([]float32, len(c.x))
			for i, v := range c.x {
				x[i] = float32(v)
			}
			if got := Max(x); !(tolerance{}).ok(got, float64(float32(c.want))) {
				t.Errorf("Max(%v) = %v, want %v", c.x, got, c.want)
			}
		}
	})
}

// softmaxRef returns max x, exp(x − max) and the sum of the latter in
// float64.
func softmaxRef(x []float32) (m float64, e []float64, s float64) {
	m = math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	e = make([]float64, len(x))
	for i, v := range x {
		e[i] = math.Exp(float64(v) - m)
		s += e[i]
	}
	return m, e, s
}

func TestSoftmax(t *testing.T) {
	const eps = 0x1p-24
	forEachVariant(t, func(t *testing.T) {
		r := rng(7)
		for _, n := range testLengths {
			for _, off := range offsets {
				x := randSlice(r, n, off, -12, 12)
				m, e, s := softmaxRef(x)
				dst := make([]float32, n)
				Softmax(dst, x)
				// x − max is rounded to float32 first (as in every float32
				// softmax), which costs |x − max|·2⁻²⁴ relative in exp; the
				// float32 sum adds about √n·2⁻²⁴ relative.
				sumTol := 4 * math.Sqrt(float64(n)) * eps
				for i, g := range dst {
					want := e[i] / s
					if d := math.Abs(float64(g) - want); d > want*((math.Abs(float64(x[i])-m)+8)*eps+sumTol)+1e-40 {
						t.Fatalf("Softmax n=%d off=%d [%d] = %v, want %v", n, off, i, g, want)
					}
				}
				lse := m + math.Log(s)
				LogSoftmax(dst, x)
				for i, g := range dst {
					want := float64(x[i]) - lse
					if d := math.Abs(float64(g) - want); d > 8*eps*(math.Abs(float64(x[i]))+math.Abs(lse)+1) {
						t.Fatalf("LogSoftmax n=%d off=%d [%d] = %v, want %v", n, off, i, g, want)
					}
				}
				// In place.
				for _, f := range []func(dst, x []float32){Softmax, LogSoftmax} {
					f(dst, x)
					xc := append([]float32(nil), x...)
					f(xc, xc)
					for i := range xc {
						if math.Float32bits(xc[i]) != math.Float32bits(dst[i]) {
							t.Fatalf("Softmax/LogSoftmax n=%d in place [%d] = %v, want %v", n, i, xc[i], dst[i])
						}
					}
				}
				// Backward, with y the softmax output.
				y := make([]float32, n)
				Softmax(y, x)
				dy := randSlice(r, n, off, -1, 1)
				var sy, syAbs float64
				for i := range y {
					sy += float64(y[i]) * float64(dy[i])
					syAbs += math.Abs(float64(y[i]) * float64(dy[i]))
				}
				dx := make([]float32, n)
				SoftmaxBackward(dx, y, dy)
				for i, g := range dx {
					want := float64(y[i]) * (float64(dy[i]) - sy)
					tol := float64(y[i]) * (4*eps*(math.Abs(float64(dy[i]))+math.Abs(sy)) + reductionTol(n, syAbs))
					if d := math.Abs(float64(g) - want); d > tol+1e-40 {
						t.Fatalf("SoftmaxBackward n=%d off=%d [%d] = %v, want %v", n, off, i, g, want)
					}
				}
				SoftmaxBackward(dy, y, dy) // dx aliasing dy
				for i := range dy {
					if dy[i] != dx[i] {
						t.Fatalf("SoftmaxBackward n=%d aliased [%d] = %v, want %v", n, i, dy[i], dx[i])
					}
				}
			}
		}
		// Special rows: a NaN poisons the row, +Inf gives NaN (Inf − Inf),
		// huge finite values stay finite.
		for _, c := range []struct {
			x   []float32
			nan bool
		}{
			{[]float32{1, float32(math.NaN()), 2}, true},
			{[]float32{1, float32(math.Inf(1)), 2}, true},
			{[]float32{3e38, -3e38, 3e38}, false},
			{[]float32{float32(math.Inf(-1)), 0}, false},
		} {
			dst := make([]float32, len(c.x))
			Softmax(dst, c.x)
			for _, v := range dst {
				if math.IsNaN(float64(v)) != c.nan {
					t.Errorf("Softmax(%v) = %v", c.x, dst)
					break
				}
			}
		}
	})
}

func TestLayerNorm(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		r := rng(8)
		for _, n := range testLengths {
			if n == 0 {
				continue
			}
			for _, off := range offsets {
				// An offset mean tests the centring.
				x := randSlice(r, n, off, 2, 4)
				gamma, beta := randSlice(r, n, off, 0.5, 1.5), randSlice(r, n, 0, -1, 1)
				var mu, ss float64
				for _, v := range x {
					mu += float64(v)
				}
				mu /= float64(n)
				for _, v := range x {
					ss += (float64(v) - mu) * (float64(v) - mu)
				}
				const eps = 1e-5
				rs := 1 / math.Sqrt(ss/float64(n)+eps)
				for _, withG := range []bool{false, true} {
					for _, withB := range []bool{false, true} {
						g, b := gamma, beta
						if !withG {
							g = nil
						}
						if !withB {
							b = nil
						}
						dst := make([]float32, n)
						mean, rstd := LayerNorm(dst, x, g, b, eps)
						if math.Abs(float64(mean)-mu) > 1e-6*math.Abs(mu) || math.Abs(float64(rstd)-rs) > 1e-4*rs {
							t.Fatalf("LayerNorm n=%d: mean, rstd = %v, %v, want %v, %v", n, mean, rstd, mu, rs)
						}
						for i, got := range dst {
							xh := (float64(x[i]) - mu) * rs
							want, mag := xh, math.Abs(xh)
							if g != nil {
								want *= float64(g[i])
								mag *= float64(g[i])
							}
							if b != nil {
								want += float64(b[i])
								mag += math.Abs(float64(b[i]))
							}
							if d := math.Abs(float64(got) - want); d > 1e-4*mag+1e-5 {
								t.Fatalf("LayerNorm n=%d γ=%v β=%v [%d] = %v, want %v", n, withG, withB, i, got, want)
							}
						}
						xc := append([]float32(nil), x...)
						LayerNorm(xc, xc, g, b, eps)
						for i := range xc {
							if xc[i] != dst[i] {
								t.Fatalf("LayerNorm n=%d in place [%d] = %v, want %v", n, i, xc[i], dst[i])
							}
						}
						testNormBackward(t, r, "LayerNorm", n, x, g, mean, rstd, withB, true)
					}
				}
				// RMSNorm.
				var sq float64
				for _, v := range x {
					sq += float64(v) * float64(v)
				}
				rsR := 1 / math.Sqrt(sq/float64(n)+1e-6)
				for _, g := range [][]float32{nil, gamma} {
					dst := make([]float32, n)
					rstd := RMSNorm(dst, x, g, 1e-6)
					if math.Abs(float64(rstd)-rsR) > 1e-5*rsR {
						t.Fatalf("RMSNorm n=%d: rstd = %v, want %v", n, rstd, rsR)
					}
					for i, got := range dst {
						want := float64(x[i]) * rsR
						if g != nil {
							want *= float64(g[i])
						}
						if d := math.Abs(float64(got) - want); d > 1e-5*math.Abs(want)+1e-6 {
							t.Fatalf("RMSNorm n=%d [%d] = %v, want %v", n, i, got, want)
						}
					}
					testNormBackward(t, r, "RMSNorm", n, x, g, 0, rstd, false, false)
				}
			}
		}
	})
}

// testNormBackward checks LayerNormBackward (centred) or RMSNormBackward
// against float64, with and without dgamma and dbeta.
func testNormBackward(t *testing.T, r *rand.Rand, name string, n int, x, gamma []float32, mean, rstd float32, withDBeta, centred bool) {
	t.Helper()
	dy := randSlice(r, n, 1, -1, 1)
	dgamma0, dbeta0 := randSlice(r, n, 0, -1, 1), randSlice(r, n, 0, -1, 1)
	xhat := make([]float64, n)
	g := make([]float64, n)
	var mg, mgx, mgAbs, mgxAbs float64
	for i := range x {
		xhat[i] = (float64(x[i]) - float64(mean)) * float64(rstd)
		g[i] = float64(dy[i])
		if gamma != nil {
			g[i] *= float64(gamma[i])
		}
		mg += g[i]
		mgx += g[i] * xhat[i]
		mgAbs += math.Abs(g[i])
		mgxAbs += math.Abs(g[i] * xhat[i])
	}
	mg, mgx, mgAbs, mgxAbs = mg/float64(n), mgx/float64(n), mgAbs/float64(n), mgxAbs/float64(n)
	if !centred {
		mg, mgAbs = 0, 0
	}
	for _, withDGamma := range []bool{false, true} {
		dx := make([]float32, n)
		var dgamma, dbeta []float32
		if withDGamma {
			dgamma = append([]float32(nil), dgamma0...)
		}
		if withDBeta {
			dbeta = append([]float32(nil), dbeta0...)
		}
		if centred {
			LayerNormBackward(dx, x, gamma, dy, mean, rstd, dgamma, dbeta)
		} else {
			RMSNormBackward(dx, x, gamma, dy, rstd, dgamma)
		}
		for i, got := range dx {
			want := float64(rstd) * (g[i] - mg - xhat[i]*mgx)
			mag := float64(rstd) * (math.Abs(g[i]) + mgAbs + math.Abs(xhat[i])*mgxAbs)
			if d := math.Abs(float64(got) - want); d > 1e-5*mag+1e-6 {
				t.Fatalf("%sBackward n=%d γ=%v [%d] dx = %v, want %v", name, n, gamma != nil, i, got, want)
			}
			if dgamma != nil {
				want := float64(dgamma0[i]) + float64(dy[i])*xhat[i]
				if d := math.Abs(float64(dgamma[i]) - want); d > 1e-6*(math.Abs(float64(dgamma0[i]))+math.Abs(float64(dy[i])*xhat[i])) {
					t.Fatalf("%sBackward n=%d [%d] dgamma = %v, want %v", name, n, i, dgamma[i], want)
				}
			}
			if dbeta != nil && dbeta[i] != dbeta0[i]+dy[i] {
				t.Fatalf("%sBackward n=%d [%d] dbeta = %v, want %v", name, n, i, dbeta[i], dbeta0[i]+dy[i])
			}
		}
	}
}

func TestAdamW(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		r := rng(9)
		for _, n := range testLengths {
			for _, wd := range []float32{0, 0.1} {
				p, g := randSlice(r, n, 1, -1, 1), randSlice(r, n, 0, -1e-2, 1e-2)
				m, v := randSlice(r, n, 2, -1e-3, 1e-3), randSlice(r, n, 3, 0, 1e-4)
				p0, m0, v0 := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), v...)
				const step = 7
				var lr32, b1f, b2f, eps32 float32 = 1e-3, 0.9, 0.999, 1e-8
				bc1f, bc2f := float32(1-math.Pow(float64(b1f), step)), float32(1-math.Pow(float64(b2f), step))
				AdamW(p, g, m, v, lr32, b1f, b2f, eps32, wd, bc1f, bc2f)
				// The reference works in float64 on the same float32
				// hyperparameters.
				lr, b1, b2, eps := float64(lr32), float64(b1f), float64(b2f), float64(eps32)
				bc1, bc2 := float64(bc1f), float64(bc2f)
				for i := range p {
					mw := b1*float64(m0[i]) + (1-b1)*float64(g[i])
					vw := b2*float64(v0[i]) + (1-b2)*float64(g[i])*float64(g[i])
					upd := lr / bc1 * mw / (math.Sqrt(vw)/math.Sqrt(bc2) + eps)
					pw := float64(p0[i])*(1-lr*float64(wd)) - upd
					// m may cancel: hold it to ulps of its terms' magnitude.
					mMag := b1*math.Abs(float64(m0[i])) + (1-b1)*math.Abs(float64(g[i]))
					if math.Abs(float64(m[i])-mw) > 2*ulp(mMag) || !(tolerance{ulps: 2}).ok(v[i], vw) ||
						math.Abs(float64(p[i])-pw) > 2*ulp(float64(p0[i]))+1e-5*math.Abs(upd) {
						t.Fatalf("AdamW n=%d wd=%v [%d]: p, m, v = %v, %v, %v, want %v, %v, %v",
							n, wd, i, p[i], m[i], v[i], pw, mw, vw)
					}
				}
			}
		}
	})
}

// f16Ref decodes an IEEE half independently of the kernels, via Ldexp.
func f16Ref(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch e {
	case 0:
		return sign * math.Ldexp(m, -24)
	case 0x1f:
		if m == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1024+m, e-25)
}

func TestConvert(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		// Every 16-bit pattern, at an odd offset.
		src := make([]uint16, 1<<16+1)[1:]
		for i := range src {
			src[i] = uint16(i)
		}
		dst := make([]float32, len(src))
		BF16ToF32(dst, src)
		for i, f := range dst {
			if math.Float32bits(f) != uint32(i)<<16 {
				t.Fatalf("BF16ToF32(%#04x) = %#08x", i, math.Float32bits(f))
			}
		}
		F16ToF32(dst, src)
		for i, f := range dst {
			want := f16Ref(uint16(i))
			bits := math.Float32bits(f)
			if math.IsNaN(want) {
				wantBits := uint32(i&0x8000)<<16 | 0x7fc00000 | uint32(i&0x3ff)<<13
				if bits != wantBits {
					t.Fatalf("F16ToF32(%#04x) = %#08x, want quiet NaN %#08x", i, bits, wantBits)
				}
			} else if float64(f) != want || math.Signbit(float64(f)) != (i&0x8000 != 0) {
				t.Fatalf("F16ToF32(%#04x) = %v, want %v", i, f, want)
			}
		}
		// F32ToBF16 on random patterns, ties, overflow and specials,
		// against rounding by comparing distances in float64.
		r := rng(10)
		xs := make([]float32, 0, 70000)
		for range 60000 {
			xs = append(xs, math.Float32frombits(r.Uint32()))
		}
		for range 5000 { // exact ties and near-ties
			b := r.Uint32() &^ 0xffff
			xs = append(xs, math.Float32frombits(b|0x8000), math.Float32frombits(b|0x7fff), math.Float32frombits(b|0x8001))
		}
		xs = append(xs, specials...)
		xs = append(xs, math.Float32frombits(0x7f7fffff), math.Float32frombits(0x7f7f8000), math.Float32frombits(0x7f7f7fff),
			math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00001))
		for _, n := range []int{len(xs), 17, 15, 1, 0} {
			out := make([]uint16, n+1)[1:]
			F32ToBF16(out, xs[:n])
			for i, h := range out {
				if want := bf16Ref(xs[i]); h != want {
					t.Fatalf("F32ToBF16(%v = %#08x) = %#04x, want %#04x", xs[i], math.Float32bits(xs[i]), h, want)
				}
			}
		}
	})
}

// bf16Ref rounds to bfloat16 by picking the nearer of the two neighbouring
// bfloat16 values (ties to the even one); NaNs become quiet NaNs.
func bf16Ref(f float32) uint16 {
	b := math.Float32bits(f)
	if f != f {
		return uint16(b>>16) | 0x40
	}
	lo := b &^ 0xffff
	hi := lo + 0x10000
	val := func(bits uint32) float64 {
		if bits&0x7fffffff == 0x7f800000 {
			return math.Copysign(0x1p128, float64(f)) // the rounding boundary stands in for Inf
		}
		return float64(math.Float32frombits(bits))
	}
	x := float64(f)
	dlo, dhi := math.Abs(x-val(lo)), math.Abs(val(hi)-x)
	switch {
	case math.IsInf(x, 0) || dlo < dhi:
		return uint16(lo >> 16)
	case dhi < dlo:
		return uint16(hi >> 16)
	case (lo>>16)&1 == 0:
		return uint16(lo >> 16)
	}
	return uint16(hi >> 16)
}

// TestVariantsAgree runs every element-wise kernel through the generic
// variant and each vector variant on the same inputs and compares them.
func TestVariantsAgree(t *testing.T) {
	r := rng(11)
	x := randSlice(r, 4099, 1, -12, 12)
	x = append(x, specials...)
	dy := randSlice(r, len(x), 0, -2, 2)
	run := func(install func() (restore func())) map[string][]float32 {
		defer install()()
		out := map[string][]float32{}
		for _, c := range unaryCases {
			dst := make([]float32, len(x))
			c.f(dst, x)
			out[c.name] = dst
		}
		for _, c := range backwardCases {
			dx := make([]float32, len(x))
			c.f(dx, x, dy)
			out[c.name] = dx
		}
		sm := make([]float32, len(x)-len(specials))
		Softmax(sm, x[:len(sm)])
		out["Softmax"] = sm
		return out
	}
	want := run(forceGenericVec)
	for _, v := range vecVariants[1:] {
		got := run(func() func() { return useVecVariant(v.name) })
		for name, w := range want {
			tol := tolerance{ulps: 8, abs: 2e-6}
			if name == "Softmax" {
				tol.abs = 1e-9
			}
			for i := range w {
				if math.IsInf(float64(x[i]), 0) && name != "Exp" && name != "Tanh" && name != "ReLU" {
					continue
				}
				if !tol.ok(got[name][i], float64(w[i])) {
					t.Errorf("%s %s(%v) = %v, generic %v", v.name, name, x[i], got[name][i], w[i])
				}
			}
		}
	}
}

// Benchmarks run every kernel under each variant; b.SetBytes counts the bytes
// the kernel streams, so the reported MB/s is its memory throughput.
func benchVariants(b *testing.B, bytesPerElem, n int, f func()) {
	for _, v := range vecVariants {
		b.Run(v.name, func(b *testing.B) {
			defer useVecVariant(v.name)()
			b.SetBytes(int64(bytesPerElem * n))
			b.ReportAllocs()
			for b.Loop() {
				f()
			}
		})
	}
}

func BenchmarkVec(b *testing.B) {
	r := rng(12)
	const big = 1 << 20
	x, y, dst := randSlice(r, big, 0, -4, 4), randSlice(r, big, 0, -4, 4), make([]float32, big)
	m, v := randSlice(r, big, 0, -1e-3, 1e-3), randSlice(r, big, 0, 0, 1e-4)
	gamma, beta := randSlice(r, big, 0, 0.5, 1.5), randSlice(r, big, 0, -1, 1)
	w := make([]uint16, big)
	F32ToBF16Generic(w, y)
	var sink float32
	for _, n := range []int{1024, big} {
		x, y, dst := x[:n], y[:n], dst[:n]
		sz := fmt.Sprintf("n=%d", n)
		b.Run("Dot/"+sz, func(b *testing.B) { benchVariants(b, 8, n, func() { sink += Dot(x, y) }) })
		b.Run("Sum/"+sz, func(b *testing.B) { benchVariants(b, 4, n, func() { sink += Sum(x) }) })
		b.Run("Max/"+sz, func(b *testing.B) { benchVariants(b, 4, n, func() { sink += Max(x) }) })
		b.Run("Axpy/"+sz, func(b *testing.B) { benchVariants(b, 12, n, func() { Axpy(1e-9, x, dst) }) })
		b.Run("Add/"+sz, func(b *testing.B) { benchVariants(b, 12, n, func() { Add(dst, x, y) }) })
		b.Run("Exp/"+sz, func(b *testing.B) { benchVariants(b, 8, n, func() { Exp(dst, x) }) })
		b.Run("Softmax/"+sz, func(b *testing.B) { benchVariants(b, 8, n, func() { Softmax(dst, x) }) })
		b.Run("LogSoftmax/"+sz, func(b *testing.B) { benchVariants(b, 8, n, func() { LogSoftmax(dst, x) }) })
		b.Run("SoftmaxBackward/"+sz, func(b *testing.B) { benchVariants(b, 12, n, func() { SoftmaxBackward(dst, x, y) }) })
		b.Run("LayerNorm/"+sz, func(b *testing.B) {
			benchVariants(b, 16, n, func() { LayerNorm(dst, x, gamma[:n], beta[:n], 1e-5) })
		})
		b.Run("LayerNormBackward/"+sz, func(b *testing.B) {
			benchVariants(b, 28, n, func() { LayerNormBackward(dst, x, gamma[:n], y, 0.1, 1.2, m[:n], v[:n]) })
		})
		b.Run("RMSNorm/"+sz, func(b *testing.B) { benchVariants(b, 12, n, func() { RMSNorm(dst, x, gamma[:n], 1e-6) }) })
		b.Run("RMSNormBackward/"+sz, func(b *testing.B) {
			benchVariants(b, 20, n, func() { RMSNormBackward(dst, x, gamma[:n], y, 1.2, m[:n]) })
		})
		b.Run("GELU/"+sz, func(b *testing.B) { benchVariants(b, 8, n, func() { GELU(dst, x) }) })
		b.Run("GELUBackward/"+sz, func(b *testing.B) { benchVariants(b, 12, n, func() { GELUBackward(dst, x, y) }) })
		b.Run("GELUTanh/"+sz, func(b *testing.B) { benchVariants(b, 8, n, func() { GELUTanh(dst, x) }) })
		b.Run("GELUTanhBackward/"+sz, func(b *testing.B) { benchVariants(b, 12, n, func() { GELUTanhBackward(dst, x, y) }) })
		b.Run("SiLU/"+sz, func(b *testing.B) { benchVariants(b, 8, n, func() { SiLU(dst, x) }) })
		b.Run("SiLUBackward/"+sz, func(b *testing.B) { benchVariants(b, 12, n, func() { SiLUBackward(dst, x, y) }) })
		b.Run("Tanh/"+sz, func(b *testing.B) { benchVariants(b, 8, n, func() { Tanh(dst, x) }) })
		b.Run("TanhBackward/"+sz, func(b *testing.B) { benchVariants(b, 12, n, func() { TanhBackward(dst, x, y) }) })
		b.Run("ReLU/"+sz, func(b *testing.B) { benchVariants(b, 8, n, func() { ReLU(dst, x) }) })
		b.Run("ReLUBackward/"+sz, func(b *testing.B) { benchVariants(b, 12, n, func() { ReLUBackward(dst, x, y) }) })
		b.Run("AdamW/"+sz, func(b *testing.B) {
			// Own optimiser state: the norm benchmarks above accumulate
			// into m and v.
			p, g := randSlice(r, n, 0, -1, 1), randSlice(r, n, 0, -1e-2, 1e-2)
			m, v := randSlice(r, n, 0, -1e-3, 1e-3), randSlice(r, n, 0, 0, 1e-4)
			benchVariants(b, 28, n, func() { AdamW(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5, 0.1) })
		})
		b.Run("BF16ToF32/"+sz, func(b *testing.B) { benchVariants(b, 6, n, func() { BF16ToF32(dst, w[:n]) }) })
		b.Run("F16ToF32/"+sz, func(b *testing.B) { benchVariants(b, 6, n, func() { F16ToF32(dst, w[:n]) }) })
		b.Run("F32ToBF16/"+sz, func(b *testing.B) { benchVariants(b, 6, n, func() { F32ToBF16(w[:n], x) }) })
		b.Run("DotBF16/"+sz, func(b *testing.B) { benchVariants(b, 6, n, func() { sink += DotBF16(x, w[:n]) }) })
	}
	_ = sink
}

func TestConvertF32ToF16(t *testing.T) {
	r := rng(11)
	xs := make([]float32, 0, 70000)
	for range 40000 {
		xs = append(xs, math.Float32frombits(r.Uint32()))
	}
	for range 20000 { // values in and near half's range, ties and near-ties included
		b := uint32(r.IntN(0x10000000)) + 0x30000000 | uint32(r.IntN(2))<<31
		xs = append(xs, math.Float32frombits(b), math.Float32frombits(b&^0x1fff|0x1000), math.Float32frombits(b&^0x1fff|0x0fff))
	}
	xs = append(xs, specials...)
	xs = append(xs, 65504, 65519.99, 65520, -65520, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26, 6.1e-5, 5.96e-8,
		math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00001))
	forEachVariant(t, func(t *testing.T) {
		for _, n := range []int{len(xs), 33, 17, 16, 15, 1, 0} {
			out := make([]uint16, n+1)[1:]
			F32ToF16(out, xs[:n])
			for i, h := range out {
				if want := f16RoundRef(xs[i]); h != want {
					t.Fatalf("F32ToF16(%v = %#08x) = %#04x, want %#04x", xs[i], math.Float32bits(xs[i]), h, want)
				}
			}
		}
	})
}

// f16RoundRef rounds to IEEE half by searching the ordered finite halves for
// the nearest one (ties to the even pattern); past 65520 (the midpoint of the
// largest half and 2¹⁶) the result is ±Inf; NaNs become quiet NaNs.
func f16RoundRef(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	if f != f {
		return sign | 0x7e00 | uint16(b&0x7fffff>>13)
	}
	x := math.Abs(float64(f))
	if x >= 65520 {
		return sign | 0x7c00
	}
	// The halves 0 … 0x7bff increase with their bit patterns.
	lo, hi := 0, 0x7bff
	for lo < hi { // the first half ≥ x
		mid := (lo + hi) / 2
		if f16Ref(uint16(mid)) < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	h := lo
	if h > 0 && f16Ref(uint16(h)) >= x {
		dlo, dhi := x-f16Ref(uint16(h-1)), f16Ref(uint16(h))-x
		if dlo < dhi || dlo == dhi && (h-1)&1 == 0 {
			h--
		}
	}
	return sign | uint16(h)
}
