package kernels

import (
	"fmt"
	"math"
	"testing"
	"unsafe"
)

// matVecRows and matVecCols cover every row-group remainder (1…3 rows past a
// multiple of four) and every column tail (masked, AVX2's Go tail, none).
var (
	matVecRows = []int{0, 1, 2, 3, 4, 5, 7, 8, 17}
	matVecCols = []int{0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 768, 769}
)

// TestMatVec checks MatVec and MatVecBF16 under every variant against a
// float64 reference (the DotBF16 tolerance, per row), at unaligned starts
// of y, x and w, and that nothing outside y[:rows] is written.
func TestMatVec(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		r := rng(31)
		for _, m := range matVecRows {
			for _, n := range matVecCols {
				for _, off := range offsets {
					x := randSlice(r, n, off, -2, 2)
					w := randSlice(r, m*n, (off+1)%4, -1, 1)
					wb := make([]uint16, m*n+off)[off:]
					F32ToBF16Generic(wb, w)
					// y sits inside a guard band of sentinels.
					const guard = 5
					buf := make([]float32, m+2*guard+off)
					for i := range buf {
						buf[i] = 12345
					}
					y := buf[guard+off : guard+off+m]
					yb := make([]float32, m)

					MatVec(y, x, w)
					MatVecBF16(yb, x, wb)
					for o := range m {
						var want, wantAbs, bf, bfAbs float64
						for i := range n {
							p := float64(x[i]) * float64(w[o*n+i])
							want += p
							wantAbs += math.Abs(p)
							q := float64(x[i]) * float64(math.Float32frombits(uint32(wb[o*n+i])<<16))
							bf += q
							bfAbs += math.Abs(q)
						}
						if got := y[o]; math.Abs(float64(got)-want) > reductionTol(n, wantAbs) {
							t.Errorf("MatVec m=%d n=%d off=%d: y[%d] = %v, want %v", m, n, off, o, got, want)
						}
						if got := yb[o]; math.Abs(float64(got)-bf) > reductionTol(n, bfAbs) {
							t.Errorf("MatVecBF16 m=%d n=%d off=%d: y[%d] = %v, want %v", m, n, off, o, got, bf)
						}
					}
					for i, v := range buf {
						if (i < guard+off || i >= guard+off+m) && v != 12345 {
							t.Fatalf("MatVec m=%d n=%d off=%d wrote buf[%d] = %v outside y", m, n, off, i, v)
						}
					}
				}
			}
		}
	})
}

// TestMatVecSpecials checks that a NaN or an infinity in x or in one row of w
// reaches exactly the outputs it should.
func TestMatVecSpecials(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	forEachVariant(t, func(t *testing.T) {
		const m, n = 6, 37
		for _, c := range []struct {
			name  string
			inX   bool
			v     float32
			isNaN bool
		}{{"NaN in w", false, nan, true}, {"Inf in w", false, inf, false}, {"NaN in x", true, nan, true}} {
			for _, col := range []int{0, 17, n - 1} {
				x, w := make([]float32, n), make([]float32, m*n)
				for i := range x {
					x[i] = 1
				}
				for i := range w {
					w[i] = 0.5
				}
				const row = 4
				if c.inX {
					x[col] = c.v
				} else {
					w[row*n+col] = c.v
				}
				wb := make([]uint16, m*n)
				F32ToBF16Generic(wb, w)
				y, yb := make([]float32, m), make([]float32, m)
				MatVec(y, x, w)
				MatVecBF16(yb, x, wb)
				for o := range m {
					hit := c.inX || o == row
					for _, got := range []float32{y[o], yb[o]} {
						switch g := float64(got); {
						case hit && c.isNaN && !math.IsNaN(g):
							t.Errorf("%s col %d: y[%d] = %v, want NaN", c.name, col, o, got)
						case hit && !c.isNaN && !math.IsInf(g, 1):
							t.Errorf("%s col %d: y[%d] = %v, want +Inf", c.name, col, o, got)
						case !hit && g != 0.5*n:
							t.Errorf("%s col %d: y[%d] = %v, want %v", c.name, col, o, got, 0.5*n)
						}
					}
				}
			}
		}
	})
}

// TestMatVecVariantsAgree compares every variant with the generic one on
// GPT-2's decode shapes (768 inputs; 3072 for the MLP's projection).
func TestMatVecVariantsAgree(t *testing.T) {
	r := rng(32)
	for _, shape := range [][2]int{{67, 768}, {13, 3072}} {
		m, n := shape[0], shape[1]
		x, w := randSlice(r, n, 0, -3, 3), randSlice(r, m*n, 0, -0.1, 0.1)
		wb := make([]uint16, m*n)
		F32ToBF16Generic(wb, w)
		want, wantB := make([]float32, m), make([]float32, m)
		MatVecGeneric(want, x, w)
		MatVecBF16Generic(wantB, x, wb)
		for _, v := range vecVariants[1:] {
			got, gotB := make([]float32, m), make([]float32, m)
			v.matVec(got, x, w, n)
			v.matVecBF16(gotB, x, wb)
			for o := range m {
				var abs float64
				for i := range n {
					abs += math.Abs(float64(x[i]) * float64(w[o*n+i]))
				}
				// Two float32 sums in different orders: twice the bound.
				tol := 2 * reductionTol(n, abs)
				if d := math.Abs(float64(got[o] - want[o])); d > tol {
					t.Errorf("%s MatVec %dx%d: y[%d] = %v, generic %v", v.name, m, n, o, got[o], want[o])
				}
				if d := math.Abs(float64(gotB[o] - wantB[o])); d > tol {
					t.Errorf("%s MatVecBF16 %dx%d: y[%d] = %v, generic %v", v.name, m, n, o, gotB[o], wantB[o])
				}
			}
		}
		// The same weights as a [m, n] matrix for VecMatAdd: x' of length m.
		xt := randSlice(r, m, 0, -3, 3)
		want = make([]float32, n)
		VecMatAddGeneric(want, xt, w)
		for _, v := range vecVariants[1:] {
			got := make([]float32, n)
			v.vecMatAdd(got, xt, w, n)
			for o := range n {
				var abs float64
				for i := range m {
					abs += math.Abs(float64(xt[i]) * float64(w[i*n+o]))
				}
				if d := math.Abs(float64(got[o] - want[o])); d > 2*reductionTol(m, abs) {
					t.Errorf("%s VecMatAdd %dx%d: y[%d] = %v, generic %v", v.name, m, n, o, got[o], want[o])
				}
			}
		}
	}
}

// TestVecMatAdd checks VecMatAdd under every variant against a float64
// reference, at unaligned starts and with a guard band around y, over row
// counts that leave every remainder of the four-row passes and column counts
// that leave every kind of tail.
func TestVecMatAdd(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		r := rng(34)
		for _, n := range matVecRows { // rows of w: len(x)
			for _, m := range matVecCols { // columns: len(y)
				for _, off := range offsets {
					x := randSlice(r, n, off, -2, 2)
					w := randSlice(r, n*m, (off+1)%4, -1, 1)
					const guard = 5
					buf := make([]float32, m+2*guard+off)
					for i := range buf {
						buf[i] = 12345
					}
					y := buf[guard+off : guard+off+m]
					y0 := randSlice(r, m, 0, -1, 1)
					copy(y, y0)
					VecMatAdd(y, x, w)
					for o := range m {
						want, abs := float64(y0[o]), math.Abs(float64(y0[o]))
						for i := range n {
							p := float64(x[i]) * float64(w[i*m+o])
							want += p
							abs += math.Abs(p)
						}
						if got := y[o]; math.Abs(float64(got)-want) > reductionTol(n, abs) {
							t.Errorf("VecMatAdd n=%d m=%d off=%d: y[%d] = %v, want %v", n, m, off, o, got, want)
						}
					}
					for i, v := range buf {
						if (i < guard+off || i >= guard+off+m) && v != 12345 {
							t.Fatalf("VecMatAdd n=%d m=%d off=%d wrote buf[%d] = %v outside y", n, m, off, i, v)
						}
					}
				}
			}
		}
		// A NaN weight reaches its column only; a NaN in x every column.
		const n, m = 9, 21
		for _, inX := range []bool{false, true} {
			x, w := make([]float32, n), make([]float32, n*m)
			for i := range x {
				x[i] = 1
			}
			for i := range w {
				w[i] = 0.5
			}
			if inX {
				x[6] = float32(math.NaN())
			} else {
				w[6*m+19] = float32(math.NaN())
			}
			y := make([]float32, m)
			VecMatAdd(y, x, w)
			for o, v := range y {
				if isNaN := math.IsNaN(float64(v)); isNaN != (inX || o == 19) || !isNaN && v != 0.5*n {
					t.Errorf("VecMatAdd with NaN (in x: %v): y[%d] = %v", inX, o, v)
				}
			}
		}
	})
}

func TestMatVecShortW(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"MatVec", func() { MatVec(make([]float32, 3), make([]float32, 4), make([]float32, 11)) }},
		{"MatVecBF16", func() { MatVecBF16(make([]float32, 3), make([]float32, 4), make([]uint16, 11)) }},
		{"resliced", func() { MatVec(make([]float32, 3), make([]float32, 4), make([]float32, 12)[:11]) }},
		{"VecMatAdd", func() { VecMatAdd(make([]float32, 4), make([]float32, 3), make([]float32, 11)) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s with a short w did not panic", c.name)
				}
			}()
			c.f()
		}()
	}
	// Zero columns: y is all zeros whatever w is; VecMatAdd adds nothing.
	y := []float32{1, 2}
	MatVec(y, nil, nil)
	if y[0] != 0 || y[1] != 0 {
		t.Errorf("MatVec with no columns = %v, want zeros", y)
	}
	y = []float32{1, 2}
	VecMatAdd(y, nil, nil)
	if y[0] != 1 || y[1] != 2 {
		t.Errorf("VecMatAdd with no rows = %v, want [1 2]", y)
	}
}

// benchWeights returns a buffer larger than the last-level cache (384 MiB),
// viewed as float32 and as bfloat16 weights: each 32-bit word holds two
// valid bfloat16s, both normal numbers, so either view is realistic data.
func benchWeights() (wf []float32, wb []uint16) {
	r := rng(33)
	words := make([]uint32, (384<<20)/4)
	for i := range words {
		hi := f32ToBF16(float32(0.05 + 0.9*r.Float64()))
		lo := f32ToBF16(float32(-0.05 - 0.9*r.Float64()))
		words[i] = uint32(hi)<<16 | uint32(lo)
	}
	wf = unsafe.Slice((*float32)(unsafe.Pointer(&words[0])), len(words))
	wb = unsafe.Slice((*uint16)(unsafe.Pointer(&words[0])), 2*len(words))
	return wf, wb
}

// walker hands out consecutive matrices of size elements from a buffer of
// total, wrapping around, so that every call streams from memory.
type walker struct{ off, size, total int }

func (w *walker) next() int {
	off := w.off
	if w.off += w.size; w.off+w.size > w.total {
		w.off = 0
	}
	return off
}

// BenchmarkMatVec reports the bandwidth of MatVec and MatVecBF16 in bytes of
// weights streamed (SetBytes): "cached" re-reads one small matrix that stays
// in L2 (the kernel's compute ceiling); "memory" walks a 384 MiB buffer,
// larger than the last-level cache, in 3072×768 matrices (GPT-2's MLP
// shape), on one goroutine and split over Threads() with ParallelFor as
// decoding does.
func BenchmarkMatVec(b *testing.B) {
	const in, out = 768, 3072
	x := randSlice(rng(35), in, 0, -1, 1)
	y := make([]float32, out)
	wf, wb := benchWeights()
	kinds := []struct {
		name string
		size int
		run  func(y []float32, off int) // one matrix starting at weight off
	}{
		{"f32", 4, func(y []float32, off int) { MatVec(y, x, wf[off:off+len(y)*in]) }},
		{"bf16", 2, func(y []float32, off int) { MatVecBF16(y, x, wb[off:off+len(y)*in]) }},
	}
	for _, k := range kinds {
		matrix := in * out
		b.Run(k.name+"/cached", func(b *testing.B) {
			const rows = 64 // 192 KiB of float32
			benchVariants(b, k.size*rows*in, 1, func() { k.run(y[:rows], 0) })
		})
		b.Run(k.name+"/memory", func(b *testing.B) {
			w := walker{size: matrix, total: len(wf) * 4 / k.size}
			benchVariants(b, k.size*matrix, 1, func() { k.run(y, w.next()) })
		})
		b.Run(fmt.Sprintf("%s/memory/threads=%d", k.name, Threads()), func(b *testing.B) {
			w := walker{size: matrix, total: len(wf) * 4 / k.size}
			benchVariants(b, k.size*matrix, 1, func() {
				off := w.next()
				ParallelFor(out, 64, func(lo, hi int) { k.run(y[lo:hi], off+lo*in) })
			})
		})
	}
}

// BenchmarkVecMatAdd is BenchmarkMatVec for VecMatAdd, on GPT-2's c_fc shape
// (768 → 3072, w [768, 3072]), with Sgemm at M = 1 (the same product) for
// comparison. Over Threads() cores each worker takes a block of rows of w and
// the partial results are added.
func BenchmarkVecMatAdd(b *testing.B) {
	const in, out = 768, 3072
	x := randSlice(rng(36), in, 0, -1, 1)
	wf, _ := benchWeights()
	workers := Threads()
	ys := make([][]float32, workers)
	for i := range ys {
		ys[i] = make([]float32, out)
	}
	y := ys[0]
	matrix := in * out
	b.Run("memory", func(b *testing.B) {
		w := walker{size: matrix, total: len(wf)}
		benchVariants(b, 4*matrix, 1, func() { off := w.next(); VecMatAdd(y, x, wf[off:off+matrix]) })
	})
	b.Run(fmt.Sprintf("memory/threads=%d", workers), func(b *testing.B) {
		w := walker{size: matrix, total: len(wf)}
		benchVariants(b, 4*matrix, 1, func() {
			off := w.next()
			ParallelFor(workers, 1, func(lo, hi int) {
				for k := lo; k < hi; k++ {
					i0, i1 := k*in/workers, (k+1)*in/workers
					clear(ys[k])
					VecMatAdd(ys[k], x[i0:i1], wf[off+i0*out:off+i1*out])
				}
			})
			for _, p := range ys[1:] {
				Add(y, y, p)
			}
		})
	})
	b.Run(fmt.Sprintf("memory/threads=%d/Sgemm", workers), func(b *testing.B) {
		w := walker{size: matrix, total: len(wf)}
		b.SetBytes(4 * int64(matrix))
		for b.Loop() {
			off := w.next()
			Sgemm(false, false, 1, out, in, 1, x, in, wf[off:off+matrix], out, 0, y, out)
		}
	})
}

// TestMatVecStride checks MatVecStride and VecMatAddStride under every
// variant against a float64 reference on a matrix whose rows are longer
// than the part used (an attention cache block), with every tail length.
func TestMatVecStride(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		r := rng(33)
		for _, m := range []int{1, 3, 4, 5, 64} {
			for _, n := range []int{1, 7, 8, 15, 16, 17, 33, 100} {
				ldw := n + 13
				w := randSlice(r, (m-1)*ldw+n, 1, -1, 1)
				x := randSlice(r, n, 0, -2, 2)
				y := make([]float32, m)
				MatVecStride(y, x, w, ldw)
				for o := range m {
					var want, abs float64
					for i := range n {
						p := float64(x[i]) * float64(w[o*ldw+i])
						want, abs = want+p, abs+math.Abs(p)
					}
					if math.Abs(float64(y[o])-want) > reductionTol(n, abs) {
						t.Errorf("MatVecStride m=%d n=%d: y[%d] = %v, want %v", m, n, o, y[o], want)
					}
				}
				// w as m rows of n values for y of length n.
				xs := randSlice(r, m, 0, -2, 2)
				ys := randSlice(r, n, 0, -1, 1)
				base := append([]float32(nil), ys...)
				VecMatAddStride(ys, xs, w, ldw)
				for o := range n {
					want, abs := float64(base[o]), math.Abs(float64(base[o]))
					for i := range m {
						p := float64(xs[i]) * float64(w[i*ldw+o])
						want, abs = want+p, abs+math.Abs(p)
					}
					if math.Abs(float64(ys[o])-want) > reductionTol(m, abs) {
						t.Errorf("VecMatAddStride m=%d n=%d: y[%d] = %v, want %v", m, n, o, ys[o], want)
					}
				}
			}
		}
	})
}
