package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// forEachQuantVariant runs f once per quantized-kernel variant this CPU has.
func forEachQuantVariant(t *testing.T, f func(t *testing.T)) {
	for _, v := range quantVariants {
		t.Run(v.name, func(t *testing.T) {
			defer useQuantVariant(v.name)()
			f(t)
		})
	}
}

// quantRow returns n activations in blocks of varied magnitude: some all
// zero, some tiny (half-precision subnormal scales), some of exact ties.
func quantRow(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for b := 0; b < n/QK; b++ {
		xs := x[b*QK : (b+1)*QK]
		switch b % 7 {
		case 3: // all zero
		case 5: // amax = 127 exactly: x·127/amax = x, and k + 0.5 are ties
			for j := range xs {
				xs[j] = float32(r.IntN(254)-127) + 0.5
			}
			xs[r.IntN(QK)] = -127
		case 6: // tiny
			for j := range xs {
				xs[j] = float32(r.NormFloat64() * 1e-6)
			}
		default:
			scale := math.Pow(10, float64(r.IntN(7)-3))
			for j := range xs {
				xs[j] = float32(r.NormFloat64() * scale)
			}
		}
	}
	return x
}

// TestQuantizeQ8_0 checks every variant bit for bit against the generic
// quantizer, and the generic one against the rules: ties to even, the
// half-rounded scale, zero blocks.
func TestQuantizeQ8_0(t *testing.T) {
	r := rng(71)
	lengths := []int{0, 32, 64, 96, 160, 768, 2048}
	rows := make([][]float32, len(lengths))
	for i, n := range lengths {
		x := quantRow(r, n)
		rows[i] = x
		q, d, sums := make([]int8, n), make([]float32, n/QK), make([]int32, n/QK)
		QuantizeQ8_0Generic(q, d, sums, x)
		for b := 0; b < n/QK; b++ {
			var sum int32
			for _, v := range q[b*QK : (b+1)*QK] {
				sum += int32(v)
			}
			if sum != sums[b] {
				t.Fatalf("n=%d block %d: sum %d, want %d", n, b, sums[b], sum)
			}
			xs, qs := x[b*QK:(b+1)*QK], q[b*QK:(b+1)*QK]
			var amax float64
			for _, v := range xs {
				amax = math.Max(amax, math.Abs(float64(v)))
			}
			// Half subnormals (tiny blocks) come in steps of 2⁻²⁴.
			if got := float64(d[b]); math.Abs(got-amax/127) > math.Max(amax/127*0x1p-11, 0x1p-25) {
				t.Fatalf("n=%d block %d: d = %g, want ≈ %g", n, b, got, amax/127)
			}
			for j, v := range xs {
				want := 0.0
				if amax != 0 {
					want = math.RoundToEven(float64(v * (127 / float32(amax))))
				}
				if float64(qs[j]) != want {
					t.Fatalf("n=%d block %d: q[%d] = %d for %g, want %g", n, b, j, qs[j], v, want)
				}
			}
		}
	}
	forEachQuantVariant(t, func(t *testing.T) {
		for i, n := range lengths {
			x := rows[i]
			wantQ, wantD, wantS := make([]int8, n), make([]float32, n/QK), make([]int32, n/QK)
			QuantizeQ8_0Generic(wantQ, wantD, wantS, x)
			q, d, sums := make([]int8, n+5), make([]float32, n/QK+3), make([]int32, n/QK+1)
			QuantizeQ8_0(q, d, sums, x)
			for i := range wantS {
				if sums[i] != wantS[i] {
					t.Fatalf("n=%d: s[%d] = %d, want %d", n, i, sums[i], wantS[i])
				}
			}
			for i := range wantQ {
				if q[i] != wantQ[i] {
					t.Fatalf("n=%d: q[%d] = %d, want %d (x = %g)", n, i, q[i], wantQ[i], x[i])
				}
			}
			for i := range wantD {
				if math.Float32bits(d[i]) != math.Float32bits(wantD[i]) {
					t.Fatalf("n=%d: d[%d] = %g, want %g", n, i, d[i], wantD[i])
				}
			}
			for _, v := range q[n:] {
				if v != 0 {
					t.Fatalf("n=%d: wrote past the row", n)
				}
			}
		}
	})
}

// randBlocks returns rows×nb random blocks of size bytes at byte offset off
// of a larger buffer: random scales of either sign over a wide range, and
// random quants (Q8_0's include −128).
func randBlocks(r *rand.Rand, rows, nb, size, off int) []byte {
	buf := make([]byte, rows*nb*size+off)[off:]
	for i := 0; i < len(buf); i += size {
		h := floatToHalfBits(float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(12)-10))))
		buf[i], buf[i+1] = byte(h), byte(h>>8)
		for j := 2; j < size; j++ {
			buf[i+j] = byte(r.Uint32())
		}
	}
	return buf
}

// refDot returns the exact products of one weight row with quantized x, in
// float64: Σ_b float32(d_w·d_x)·Σ_j w·q, and Σ of their magnitudes.
func refDot(row []byte, q []int8, d []float32, q4 bool) (sum, abs float64) {
	size := Q8_0BlockBytes
	if q4 {
		size = Q4_0BlockBytes
	}
	for b := range d {
		blk := row[b*size : (b+1)*size]
		s := float64(blockScale(blk) * d[b])
		var isum, iabs int64
		for j := range QK {
			var w int64
			if q4 {
				v := blk[2+j%16]
				if j >= 16 {
					v >>= 4
				}
				w = int64(v&15) - 8
			} else {
				w = int64(int8(blk[2+j]))
			}
			p := w * int64(q[b*QK+j])
			isum += p
			iabs += max(p, -p)
		}
		sum += s * float64(isum)
		abs += math.Abs(s) * float64(iabs)
	}
	return sum, abs
}

// quantTol bounds the float32 rounding of a quantized dot product of nb
// blocks: one rounding per product and per addition over ≤ 8 lanes.
func quantTol(nb int, abs float64) float64 { return float64(nb+10)*0x1p-24*abs + 1e-30 }

// TestMatVecQuant checks MatVecQ8_0 and MatVecQ4_0 under every variant
// against the exact products, at unaligned starts, for every row-group
// remainder and block-unroll remainder, and that nothing outside y is
// written.
func TestMatVecQuant(t *testing.T) {
	forEachQuantVariant(t, func(t *testing.T) {
		r := rng(72)
		for _, q4 := range []bool{false, true} {
			size, mv := Q8_0BlockBytes, MatVecQ8_0
			if q4 {
				size, mv = Q4_0BlockBytes, MatVecQ4_0
			}
			for _, m := range []int{0, 1, 2, 3, 4, 5, 7, 8, 17} {
				for _, nb := range []int{0, 1, 2, 3, 4, 5, 7, 9, 24, 64} {
					for _, off := range []int{0, 1, 3} {
						var rows Q8Rows
						rows.Quantize(quantRow(r, nb*QK), 1, nb*QK)
						q, d := rows.Q, rows.D
						w := randBlocks(r, m, nb, size, off)
						const guard = 5
						buf := make([]float32, m+2*guard)
						for i := range buf {
							buf[i] = 12345
						}
						y := buf[guard : guard+m]
						mv(y, w, &rows, 0)
						for o := range m {
							want, abs := refDot(w[o*nb*size:(o+1)*nb*size], q, d, q4)
							if math.Abs(float64(y[o])-want) > quantTol(nb, abs) {
								t.Errorf("q4=%v m=%d nb=%d off=%d: y[%d] = %v, want %v", q4, m, nb, off, o, y[o], want)
							}
						}
						for i, v := range buf {
							if (i < guard || i >= guard+m) && v != 12345 {
								t.Fatalf("q4=%v m=%d nb=%d: wrote buf[%d] outside y", q4, m, nb, i)
							}
						}
					}
				}
			}
		}
	})
}

// TestMatVecQuantVsFloat checks the quantized product against the float32
// product of the dequantized weights with the unquantized activations,
// within the error activation quantization allows: |x − q·d| ≤ d/2 for the
// float32 scale, plus 127 quants times the half-precision rounding of d
// (2⁻¹¹·d), so under 0.57·d per element.
func TestMatVecQuantVsFloat(t *testing.T) {
	forEachQuantVariant(t, func(t *testing.T) {
		r := rng(73)
		const m, nb = 13, 24
		x := make([]float32, nb*QK)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		var rows Q8Rows
		rows.Quantize(x, 1, len(x))
		d := rows.D
		for _, q4 := range []bool{false, true} {
			size, mv, deq := Q8_0BlockBytes, MatVecQ8_0, DequantizeQ8_0
			if q4 {
				size, mv, deq = Q4_0BlockBytes, MatVecQ4_0, DequantizeQ4_0
			}
			w := randBlocks(r, m, nb, size, 0)
			y := make([]float32, m)
			mv(y, w, &rows, 0)
			wf := make([]float32, m*nb*QK)
			deq(wf, w)
			for o := range m {
				var want, bound float64
				for i, v := range x {
					wv := float64(wf[o*len(x)+i])
					want += wv * float64(v)
					bound += math.Abs(wv) * 0.57 * float64(d[i/QK])
				}
				bound += 1e-5 * math.Abs(want)
				if math.Abs(float64(y[o])-want) > bound {
					t.Errorf("q4=%v: y[%d] = %v, float32 product %v, beyond the bound %g", q4, o, y[o], want, bound)
				}
			}
		}
	})
}

// TestMatMulQuant checks MatMulQ8_0 and MatMulQ4_0 (overwriting and
// adding) under every variant against the exact products, for row counts
// on both sides of the many-row kernels' groups of 16, and that the gaps
// between y's rows (stride ldy > m) are not written.
func TestMatMulQuant(t *testing.T) {
	forEachQuantVariant(t, func(t *testing.T) {
		r := rng(74)
		for _, q4 := range []bool{false, true} {
			size, mm := Q8_0BlockBytes, MatMulQ8_0
			if q4 {
				size, mm = Q4_0BlockBytes, MatMulQ4_0
			}
			for _, N := range []int{1, 4, 5, 15, 16, 17, 33} {
				for _, m := range []int{0, 1, 3, 4, 5, 9} {
					for _, nb := range []int{1, 2, 3, 24} {
						for _, add := range []bool{false, true} {
							K := nb * QK
							x := make([]float32, N*K)
							for i := range x {
								x[i] = float32(r.NormFloat64())
							}
							var rows Q8Rows
							rows.Quantize(x, N, K)
							w := randBlocks(r, m, nb, size, 1)
							ldy := m + 3
							y := make([]float32, N*ldy)
							for i := range y {
								y[i] = float32(i % 5)
							}
							mm(y, ldy, w, m, &rows, add)
							for n := range N {
								for o := range ldy {
									got := y[n*ldy+o]
									base := float64(n*ldy+o) - 5*math.Floor(float64(n*ldy+o)/5)
									if o >= m {
										if float64(got) != base {
											t.Fatalf("q4=%v N=%d m=%d: wrote y[%d][%d] past m", q4, N, m, n, o)
										}
										continue
									}
									want, abs := refDot(w[o*nb*size:(o+1)*nb*size], rows.Q[n*K:(n+1)*K], rows.D[n*nb:(n+1)*nb], q4)
									if add {
										want += base
										abs += base
									}
									if math.Abs(float64(got)-want) > quantTol(nb, abs)+1e-6*base {
										t.Errorf("q4=%v N=%d m=%d nb=%d add=%v: y[%d][%d] = %v, want %v", q4, N, m, nb, add, n, o, got, want)
									}
								}
							}
						}
					}
				}
			}
		}
	})
}

// BenchmarkMatVecQuant streams a matrix of each format through
// MatVecQ8_0/MatVecQ4_0 on one core: once L2-sized (the kernels' own
// speed) and once far beyond the caches (the memory-bound case decoding
// is); bytes/s count the weight bytes.
func BenchmarkMatVecQuant(b *testing.B) {
	for _, v := range quantVariants {
		for _, q4 := range []bool{false, true} {
			for _, kb := range []int{256, 256 << 10} { // L2-sized, far beyond the caches
				name, size, mv := "q8_0", Q8_0BlockBytes, MatVecQ8_0
				if q4 {
					name, size, mv = "q4_0", Q4_0BlockBytes, MatVecQ4_0
				}
				const K = 768
				nb := K / QK
				m := (kb << 10) / (nb * size) &^ 3
				label := map[int]string{256: "256KiB", 256 << 10: "256MiB"}[kb]
				b.Run(fmt.Sprintf("%s/%s/%s", name, label, v.name), func(b *testing.B) {
					defer useQuantVariant(v.name)()
					r := rng(1)
					w := randBlocks(r, m, nb, size, 0)
					var rows Q8Rows
					rows.Quantize(quantRow(r, K), 1, K)
					y := make([]float32, m)
					b.SetBytes(int64(len(w)))
					for b.Loop() {
						mv(y, w, &rows, 0)
					}
				})
			}
		}
	}
}

// BenchmarkMatMulQuant times the many-row products of 32 rows (a prefill
// chunk) with an L2-sized block of weight rows, in int8 multiply-adds per
// second.
func BenchmarkMatMulQuant(b *testing.B) {
	for _, v := range quantVariants {
		for _, q4 := range []bool{false, true} {
			name, size, mm := "q8_0", Q8_0BlockBytes, MatMulQ8_0
			if q4 {
				name, size, mm = "q4_0", Q4_0BlockBytes, MatMulQ4_0
			}
			const N, K, m = 32, 768, 256
			b.Run(fmt.Sprintf("%s/%s", name, v.name), func(b *testing.B) {
				defer useQuantVariant(v.name)()
				r := rng(2)
				w := randBlocks(r, m, K/QK, size, 0)
				x := make([]float32, N*K)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				var rows Q8Rows
				rows.Quantize(x, N, K)
				y := make([]float32, N*m)
				for b.Loop() {
					mm(y, m, w, m, &rows, false)
				}
				b.ReportMetric(float64(N*K*m)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

// BenchmarkQuantizeQ8_0 times the activation quantizer.
func BenchmarkQuantizeQ8_0(b *testing.B) {
	for _, v := range quantVariants {
		b.Run(v.name, func(b *testing.B) {
			defer useQuantVariant(v.name)()
			x := quantRow(rng(3), 2048)
			q, d, s := make([]int8, len(x)), make([]float32, len(x)/QK), make([]int32, len(x)/QK)
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				QuantizeQ8_0(q, d, s, x)
			}
		})
	}
}

// TestMatVecQuantOrder checks that every variant's matrix-vector products
// equal the generic ones bit for bit: they all accumulate in llama.cpp's
// order (its 8 lanes and hsum_float_8 for Q8_0, whole block sums for
// Q4_0), so that results agree with llama.cpp's to its own rounding. The
// many-row Q4_0 kernels keep the same order.
func TestMatVecQuantOrder(t *testing.T) {
	r := rng(75)
	const m, nb = 37, 24
	x := quantRow(r, nb*QK)
	q, d, sums := make([]int8, len(x)), make([]float32, nb), make([]int32, nb)
	QuantizeQ8_0Generic(q, d, sums, x)
	one := &Q8Rows{N: 1, K: len(x), Q: q, D: d, S: sums}
	for _, q4 := range []bool{false, true} {
		size, gen := Q8_0BlockBytes, matVecQ8Generic
		if q4 {
			size, gen = Q4_0BlockBytes, matVecQ4Generic
		}
		w := randBlocks(r, m, nb, size, 0)
		want := make([]float32, m)
		gen(want, w, q, d, sums, false)
		forEachQuantVariant(t, func(t *testing.T) {
			got := make([]float32, m)
			if q4 {
				MatVecQ4_0(got, w, one, 0)
			} else {
				MatVecQ8_0(got, w, one, 0)
			}
			for o := range m {
				if math.Float32bits(got[o]) != math.Float32bits(want[o]) {
					t.Errorf("q4=%v: y[%d] = %v, generic %v", q4, o, got[o], want[o])
				}
			}
			if !q4 {
				return
			}
			// Q4_0's many-row kernels: the same sums for every row.
			const N = 19
			xs := make([]float32, N*nb*QK)
			for n := range N {
				copy(xs[n*nb*QK:], x)
			}
			var rows Q8Rows
			rows.Quantize(xs, N, nb*QK)
			y := make([]float32, N*m)
			MatMulQ4_0(y, m, w, m, &rows, false)
			for n := range N {
				for o := range m {
					if math.Float32bits(y[n*m+o]) != math.Float32bits(want[o]) {
						t.Fatalf("MatMulQ4_0 row %d: y[%d] = %v, generic %v", n, o, y[n*m+o], want[o])
					}
				}
			}
		})
	}
}

// TestMatMulQuantMatchesRows checks that the many-row products give, bit
// for bit, what the same variant's matrix-vector kernels give row by row
// (matMulRows) and what the generic twin gives, overwriting and adding, on
// awkward shapes: every row count 1…40 (partial groups and halves on both
// sides of matMulMinRows), weight row counts around the kernels' passes,
// odd block counts, and y rows with gaps (ldy > m). The VNNI Q8_0 kernel
// is the exception: it sums whole blocks in each lane, a different float32
// order, and TestMatMulQuant bounds its error instead.
func TestMatMulQuantMatchesRows(t *testing.T) {
	r := rng(76)
	type shape struct{ m, nb int }
	shapes := []shape{{1, 1}, {3, 5}, {4, 7}, {9, 3}, {17, 24}}
	forEachQuantVariant(t, func(t *testing.T) {
		for _, q4 := range []bool{false, true} {
			if quant.name == "avx512vnni" && !q4 {
				continue
			}
			size, mm := Q8_0BlockBytes, MatMulQ8_0
			if q4 {
				size, mm = Q4_0BlockBytes, MatMulQ4_0
			}
			for N := 1; N <= 40; N++ {
				sh := shapes[N%len(shapes)]
				m, nb := sh.m, sh.nb
				K := nb * QK
				var x Q8Rows
				x.Quantize(quantRow(r, N*K), N, K)
				w := randBlocks(r, m, nb, size, N%3)
				ldy := m + N%3
				base := make([]float32, N*ldy)
				for i := range base {
					base[i] = float32(r.NormFloat64())
				}
				for _, add := range []bool{false, true} {
					got := append([]float32(nil), base...)
					mm(got, ldy, w, m, &x, add)
					rows := append([]float32(nil), base...)
					matMulRows(&quant, rows, ldy, w, m, &x, add, q4)
					twin := append([]float32(nil), base...)
					matMulRows(&genericQuant, twin, ldy, w, m, &x, add, q4)
					for i := range got {
						g := math.Float32bits(got[i])
						if g != math.Float32bits(rows[i]) || g != math.Float32bits(twin[i]) {
							t.Fatalf("q4=%v N=%d m=%d nb=%d add=%v: y[%d][%d] = %v, matrix-vector %v, generic %v",
								q4, N, m, nb, add, i/ldy, i%ldy, got[i], rows[i], twin[i])
						}
					}
				}
			}
		}
	})
}

// TestMatMulQuantAllocs checks that a many-row product allocates nothing
// (the kernels' arguments stay on the stack), with packed rows and with a
// tail that goes through the matrix-vector kernels.
func TestMatMulQuantAllocs(t *testing.T) {
	forEachQuantVariant(t, func(t *testing.T) {
		r := rng(77)
		const m, nb = 5, 3
		for _, N := range []int{3, 16, 19} {
			var x Q8Rows
			x.Quantize(quantRow(r, N*nb*QK), N, nb*QK)
			w8, w4 := randBlocks(r, m, nb, Q8_0BlockBytes, 0), randBlocks(r, m, nb, Q4_0BlockBytes, 0)
			y := make([]float32, N*m)
			if a := testing.AllocsPerRun(10, func() {
				MatMulQ8_0(y, m, w8, m, &x, false)
				MatMulQ4_0(y, m, w4, m, &x, true)
			}); a != 0 {
				t.Errorf("N=%d: %v allocations per product", N, a)
			}
		}
	})
}
