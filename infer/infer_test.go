package infer

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/kernels"
)

func randn(rng *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(std * rng.NormFloat64())
	}
	return x
}

func maxRel(t *testing.T, got []float32, want []float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		d := math.Abs(float64(got[i])-want[i]) / (1 + math.Abs(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		worst = max(worst, d)
	}
	return worst
}

// TestLinear checks every weight format and call against a float64
// product, for decoding (≤ 4 rows) and prefill shapes. For bfloat16 the
// reference multiplies the bfloat16-rounded weights, and where
// kernels.GemmBF16 runs natively (for every number of rows) the rounded
// activations too (that product rounds both operands): what is left is
// float32 summation, within the same 1e-5.
func TestLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const in, out = 70, 45
	w := randn(rng, out*in, 0.3) // [out, in]
	wT := make([]float32, in*out)
	for o := range out {
		for i := range in {
			wT[i*out+o] = w[o*in+i]
		}
	}
	bias := randn(rng, out, 0.5)
	round := func(x float32) float64 { // bf16 value of x
		var h [1]uint16
		kernels.F32ToBF16(h[:], []float32{x})
		var f [1]float32
		kernels.BF16ToF32(f[:], h[:])
		return float64(f[0])
	}
	for _, tc := range []struct {
		name string
		w    Weight
		bf16 bool
		tol  float64
	}{
		{"packed OutIn", NewWeight(w, in, out, OutIn, F32), false, 1e-5},
		{"packed InOut", NewWeight(wT, in, out, InOut, F32), false, 1e-5},
		{"dense", DenseWeight(w, in, out), false, 1e-5},
		{"bf16 OutIn", NewWeight(w, in, out, OutIn, BF16), true, 1e-5},
		{"bf16 InOut", NewWeight(wT, in, out, InOut, BF16), true, 1e-5},
	} {
		for _, N := range []int{1, 3, 4, 5, 33} {
			x := randn(rng, N*in, 1)
			res := randn(rng, N*out, 1)
			ref := make([]float64, N*out)
			roundX := tc.bf16 && kernels.GemmBF16Native()
			for r := range N {
				for o := range out {
					s := 0.0
					for i := range in {
						wv, xv := float64(w[o*in+i]), float64(x[r*in+i])
						if tc.bf16 {
							wv = round(w[o*in+i])
						}
						if roundX {
							xv = round(x[r*in+i])
						}
						s += xv * wv
					}
					ref[r*out+o] = s + float64(bias[o])
				}
			}
			l := NewLinear(tc.w, bias)
			var sc Scratch
			y := make([]float32, N*out)
			l.Forward(&sc, y, x, N)
			if e := maxRel(t, y, ref); e > tc.tol {
				t.Errorf("%s N=%d Forward: error %.3g", tc.name, N, e)
			}
			l.ForwardAct(&sc, y, x, N, ReLU)
			relu := make([]float64, len(ref))
			for i, v := range ref {
				relu[i] = max(v, 0)
			}
			if e := maxRel(t, y, relu); e > tc.tol {
				t.Errorf("%s N=%d ForwardAct: error %.3g", tc.name, N, e)
			}
			copy(y, res)
			l.AddTo(&sc, y, x, N)
			sum := make([]float64, len(ref))
			for i, v := range ref {
				sum[i] = v + float64(res[i])
			}
			if e := maxRel(t, y, sum); e > tc.tol {
				t.Errorf("%s N=%d AddTo: error %.3g", tc.name, N, e)
			}
		}
	}
	l := NewLinear(NewWeight(w, in, out, OutIn, BF16), bias)
	var sc Scratch
	x, y := randn(rng, in, 1), make([]float32, out)
	l.Forward(&sc, y, x, 1)
	// On one thread: with more, a parallel loop that finds the pool still
	// held by a straggling worker runs on goroutines of its own.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if raceEnabled {
		return // allocation counts are not meaningful under the race detector
	}
	if a := testing.AllocsPerRun(20, func() { l.ForwardAct(&sc, y, x, 1, GELU) }); a != 0 {
		t.Errorf("a decoding product allocates %v times", a)
	}
}

// refAttention is the float64 definition: for each segment, head and new
// position, softmax over the visible keys of the segment's row.
func refAttention(a *Attention, q []float64, ldq int, keys, vals [][]float64, segs []Segment, mask [][]bool, bias func(h, qp, j int) float64) []float64 {
	D := a.HeadDim
	N := 0
	for _, s := range segs {
		N = max(N, s.Off+s.T)
	}
	out := make([]float64, N*a.Heads*D)
	g := a.Heads / a.KVHeads
	for si, s := range segs {
		for h := range a.Heads {
			K, V := keys[s.Row], vals[s.Row] // [pos][Hkv·D]
			for t := range s.T {
				n := s.Keys
				if a.Causal {
					n = min(n, s.Start+t+1)
				}
				sc := make([]float64, n)
				mx := math.Inf(-1)
				for j := range n {
					dot := 0.0
					for d := range D {
						dot += q[(s.Off+t)*ldq+h*D+d] * K[j*a.KVHeads*D+(h/g)*D+d]
					}
					sc[j] = dot / math.Sqrt(float64(D))
					if bias != nil {
						sc[j] += bias(h, s.Start+t, j)
					}
					if mask != nil && mask[si] != nil && !mask[si][j] {
						sc[j] = math.Inf(-1)
					}
					mx = max(mx, sc[j])
				}
				sum := 0.0
				for j := range sc {
					sc[j] = math.Exp(sc[j] - mx)
					sum += sc[j]
				}
				for d := range D {
					v := 0.0
					for j := range sc {
						v += sc[j] / sum * V[j*a.KVHeads*D+(h/g)*D+d]
					}
					out[(s.Off+t)*a.Heads*D+h*D+d] = v
				}
			}
		}
	}
	return out
}

type alibi struct{ slope float32 }

func (b alibi) AddBias(p []float32, h, q int) {
	for j := range p {
		p[j] -= b.slope * float32(h+1) * float32(q-j)
	}
}

// TestAttention runs a ragged batch — one row prefilling many positions,
// others decoding one or a few on top of what they hold — through the
// cache and Attention, and compares it with the float64 definition.
func TestAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name          string
		H, Hkv, D     int
		causal        bool
		masked, biasd bool
		cache         KVType
	}{
		{"causal", 4, 4, 8, true, false, false, KVF32},
		{"gqa", 6, 2, 16, true, false, false, KVF32},
		{"mqa+alibi", 4, 1, 8, true, false, true, KVF32},
		{"bidirectional+mask", 3, 3, 8, false, true, false, KVF32},
		{"causal/f16", 4, 4, 8, true, false, false, KVF16},
		{"gqa/f16", 6, 2, 16, true, false, false, KVF16},
		{"bidirectional+mask/f16", 3, 3, 8, false, true, false, KVF16},
	} {
		a := &Attention{Heads: tc.H, KVHeads: tc.Hkv, HeadDim: tc.D, Causal: tc.causal}
		var bias func(h, qp, j int) float64
		if tc.biasd {
			a.Bias = alibi{0.25}
			bias = func(h, qp, j int) float64 { return -float64(float32(0.25) * float32(h+1) * float32(qp-j)) }
		}
		const rows, maxLen = 4, 40
		c, err := NewKVCacheOf(tc.cache, 1, rows, tc.Hkv, tc.D, maxLen)
		if err != nil {
			t.Fatal(err)
		}
		c.chunk = 8 // several chunks per row, segments across their edges
		W := tc.Hkv * tc.D
		// The reference sees what the cache stores: half-precision keys
		// and values are rounded.
		stored := func(x float32) float64 {
			if tc.cache == KVF16 {
				h := []uint16{0}
				kernels.F32ToF16(h, []float32{x})
				return float64(kernels.HalfToFloat(h[0]))
			}
			return float64(x)
		}
		keys, vals := make([][]float64, rows), make([][]float64, rows)
		// Three passes: the first fills rows 0–2 to different lengths, the
		// second mixes a long prefill of row 3 with short steps of the rest,
		// the third grows the storage of rows 0 and 2 past its first size.
		var segs []Segment
		var sc Scratch
		for pass, counts := range [][2][]int{{{0, 1, 2}, {5, 1, 9}}, {{3, 0, 2, 1}, {21, 1, 3, 2}}, {{2, 0}, {5, 12}}} {
			var N int
			segs, N = c.Plan(segs, counts[0], counts[1])
			q, k, v := randn(rng, N*tc.H*tc.D, 1), randn(rng, N*W, 1), randn(rng, N*W, 1)
			for _, s := range segs {
				for t := range s.T {
					for i := range W {
						keys[s.Row] = append(keys[s.Row], stored(k[(s.Off+t)*W+i]))
						vals[s.Row] = append(vals[s.Row], stored(v[(s.Off+t)*W+i]))
					}
				}
			}
			var mask [][]bool
			if tc.masked {
				mask = make([][]bool, len(segs))
				for i, s := range segs {
					mask[i] = make([]bool, s.Keys)
					for j := range mask[i] {
						mask[i][j] = j%3 != 1 || j == 0
					}
				}
			}
			c.Put(0, segs, k, v, W)
			out := make([]float32, N*tc.H*tc.D)
			opts := &AttendOptions{KeyMask: mask, Probs: func(seg, head, t int, p []float32) {
				s := float32(0)
				for _, x := range p {
					s += x
				}
				if math.Abs(float64(s)-1) > 1e-5 {
					panic("probabilities do not sum to 1")
				}
			}}
			a.Forward(&sc, out, tc.H*tc.D, q, tc.H*tc.D, c, 0, segs, opts)
			c.Commit(segs)
			q64 := make([]float64, len(q))
			for i, x := range q {
				q64[i] = float64(x)
			}
			want := refAttention(a, q64, tc.H*tc.D, keys, vals, segs, mask, bias)
			if e := maxRel(t, out, want); e > 2e-5 {
				t.Errorf("%s pass %d: error %.3g", tc.name, pass, e)
			}
		}
		if c.Len(3) != 21 || c.Len(0) != 18 || c.Len(2) != 17 || c.Len(1) != 3 {
			t.Errorf("%s: lengths %v", tc.name, c.n)
		}
		if c.Capacity(1) != 8 || c.Capacity(0) != 24 || c.Capacity(3) != 24 {
			t.Errorf("%s: capacities %d, %d, %d", tc.name, c.Capacity(0), c.Capacity(1), c.Capacity(3))
		}
	}
}

// TestKVCacheRows checks the row operations: Reorder copies whole rows of
// different lengths, Truncate and Clear touch one row only.
func TestKVCacheRows(t *testing.T) {
	for _, typ := range []KVType{KVF32, KVF16} {
		t.Run(typ.String(), func(t *testing.T) { testKVCacheRows(t, typ) })
	}
}

func testKVCacheRows(t *testing.T, typ KVType) {
	c, err := NewKVCacheOf(typ, 2, 3, 2, 4, 10)
	if err != nil {
		t.Fatal(err)
	}
	c.chunk = 2
	W := 8
	segs, N := c.Plan(nil, []int{0, 1, 2}, []int{3, 5, 1})
	k, v := make([]float32, N*W), make([]float32, N*W) // small integers: exact in half precision
	for i := range k {
		k[i], v[i] = float32(i), -float32(i)
	}
	for l := range 2 {
		c.Put(l, segs, k, v, W)
	}
	c.Commit(segs)
	buf := make([]float32, c.ViewLen())
	key := func(l, row, h, d, pos int) float32 {
		return c.Keys(l, row, h, pos/2, 2, buf)[d*2+pos%2]
	}
	val := func(l, row, h, d, pos int) float32 {
		return c.Values(l, row, h, pos/2, 2, buf)[d*2+pos%2]
	}
	before := func(row, h, d, pos int) float32 { return k[(segs[row].Off+pos)*W+h*4+d] }
	if key(1, 1, 1, 2, 4) != before(1, 1, 2, 4) {
		t.Fatal("Put misplaced a key")
	}
	if err := c.Reorder([]int{1, 1, 0}); err != nil {
		t.Fatal(err)
	}
	if c.Len(0) != 5 || c.Len(1) != 5 || c.Len(2) != 3 {
		t.Fatalf("lengths after Reorder: %v", c.n)
	}
	for l := range 2 {
		for pos := range 5 {
			if key(l, 0, 1, 3, pos) != before(1, 1, 3, pos) || val(l, 0, 1, 3, pos) != -before(1, 1, 3, pos) ||
				key(l, 1, 1, 3, pos) != before(1, 1, 3, pos) {
				t.Fatalf("rows 0 and 1 are not row 1's copies at %d", pos)
			}
		}
		for pos := range 3 {
			if key(l, 2, 0, 1, pos) != before(0, 0, 1, pos) {
				t.Fatalf("row 2 is not row 0's copy at %d", pos)
			}
		}
	}
	// The copies are independent: writing row 1 leaves row 0 alone.
	seg1, N := c.Plan(nil, []int{1}, []int{1})
	one := make([]float32, N*W)
	for i := range one {
		one[i] = 1000
	}
	for l := range 2 {
		c.Put(l, seg1, one, one, W)
	}
	c.Commit(seg1)
	if key(0, 1, 0, 0, 5) != 1000 || key(0, 0, 1, 3, 4) != before(1, 1, 3, 4) {
		t.Fatal("a Put into row 1 is not in row 1 only")
	}
	if err := c.Truncate(1, 2); err != nil || c.Len(1) != 2 || c.Len(0) != 5 {
		t.Fatalf("Truncate: %v, lengths %v", err, c.n)
	}
	for _, bad := range [][2]int{{1, 3}, {3, 0}, {0, -1}} {
		if err := c.Truncate(bad[0], bad[1]); err == nil {
			t.Errorf("Truncate(%d, %d) accepted", bad[0], bad[1])
		}
	}
	c.Clear(0)
	if c.Len(0) != 0 || c.Len(2) != 3 {
		t.Fatalf("Clear: lengths %v", c.n)
	}
	for _, src := range [][]int{{0, 1}, {0, 1, 3}, {-1, 0, 0}} {
		if err := c.Reorder(src); err == nil {
			t.Errorf("Reorder(%v) accepted", src)
		}
	}
	if _, err := NewKVCache(1, 0, 1, 1, 1); err == nil {
		t.Error("a cache of no rows was made")
	}
}

// TestKVCacheGrows checks that a row's storage follows the positions it
// holds, not MaxLen, in both types, and that growing keeps what it held.
func TestKVCacheGrows(t *testing.T) {
	const layers, Hkv, D, maxLen = 2, 2, 4, 1000
	for _, tc := range []struct {
		typ  KVType
		size int
	}{{KVF32, 4}, {KVF16, 2}} {
		c, err := NewKVCacheOf(tc.typ, layers, 2, Hkv, D, maxLen)
		if err != nil {
			t.Fatal(err)
		}
		if c.Bytes() != 0 {
			t.Fatalf("%v: a new cache holds %d bytes", tc.typ, c.Bytes())
		}
		W := Hkv * D
		var segs []Segment
		for pos := range 300 {
			segs, _ = c.Plan(segs, []int{0}, []int{1})
			x := make([]float32, W)
			for i := range x {
				x[i] = float32(pos*W + i)
			}
			for l := range layers {
				c.Put(l, segs, x, x, W)
			}
			c.Commit(segs)
		}
		perPos := 2 * layers * W * tc.size
		if got := c.Bytes(); got != 320*perPos { // five chunks of 64
			t.Errorf("%v: 300 positions take %d bytes, want %d", tc.typ, got, 320*perPos)
		}
		if c.Capacity(1) != 0 || c.Capacity(0) != 320 {
			t.Errorf("%v: capacities %d and %d", tc.typ, c.Capacity(0), c.Capacity(1))
		}
		buf := make([]float32, c.ViewLen())
		for l := range layers {
			for _, pos := range []int{0, 63, 64, 65, 100, 299} {
				v := c.Values(l, 0, 1, pos/KVChunk, KVChunk, buf)
				want := float32(pos*W + D + 3)
				if tc.typ == KVF16 {
					h := []uint16{0}
					kernels.F32ToF16(h, []float32{want})
					want = kernels.HalfToFloat(h[0])
				}
				if got := v[3*KVChunk+pos%KVChunk]; got != want {
					t.Fatalf("%v: value %d of layer %d is %v, want %v", tc.typ, pos, l, got, want)
				}
			}
		}
	}
}

// TestRotary checks both layouts against the rotation they define.
func TestRotary(t *testing.T) {
	const D, pos = 8, 7
	for _, inter := range []bool{false, true} {
		r := NewRotary(D, 16, 10000, inter)
		x := []float32{1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7, -8}
		want := make([]float64, len(x))
		for h := range 2 {
			for i := range D / 2 {
				a, b := 2*i, 2*i+1
				if !inter {
					a, b = i, i+D/2
				}
				th := float64(pos) * float64(float32(1/math.Pow(10000, float64(2*i)/D)))
				xa, xb := float64(x[h*D+a]), float64(x[h*D+b])
				want[h*D+a] = xa*math.Cos(th) - xb*math.Sin(th)
				want[h*D+b] = xb*math.Cos(th) + xa*math.Sin(th)
			}
		}
		r.Apply(x, 2, pos)
		if e := maxRel(t, x, want); e > 1e-6 {
			t.Errorf("interleaved=%v: error %.3g", inter, e)
		}
	}
}

// TestBuilder checks lookups through scopes and aliases, the errors a
// loader reports, bfloat16 keeping and fresh initialisation.
func TestBuilder(t *testing.T) {
	ts := Tensors{}
	ts.Add("transformer.h.0.ln.weight", []float32{1, 2, 3}, 3)
	ts.Add("transformer.h.0.ln.bias", []float32{0, 0, 1}, 3)
	ts.Add("transformer.h.0.fc.weight", make([]float32, 6), 2, 3)
	ts.Add("transformer.h.0.fc.bias", make([]float32, 2), 2)
	opts := BuilderOptions{Model: "toy", Source: "toy.safetensors", Aliases: func(n string) []string { return []string{"transformer." + n} }}
	b := NewBuilder(ts, opts)
	blk := b.Sub("h", 0)
	ln := blk.LayerNorm("ln", 3, 1e-5)
	fc := blk.Linear("fc", 3, 2, true)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	if ln.W[2] != 3 || ln.B[2] != 1 || fc.In != 3 || fc.Out != 2 || !blk.Has("fc.weight") || blk.Has("nope") {
		t.Fatal("lookups returned the wrong tensors")
	}
	for _, tc := range []struct {
		name string
		load func(b *Builder)
		want string
		is   error
	}{
		{"missing", func(b *Builder) { b.Sub("h", 1).LayerNorm("ln", 3, 0) }, "toy: load h.1.ln.weight from toy.safetensors", checkpoint.ErrMissingTensor},
		{"shape", func(b *Builder) { b.Sub("h", 0).Linear("fc", 2, 3, false) }, "toy: load h.0.fc.weight from toy.safetensors: shape mismatch: shape [2 3], want [3 2]", ErrShape},
	} {
		b := NewBuilder(ts, opts)
		tc.load(b)
		err := b.Err()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	fresh := NewBuilder(nil, BuilderOptions{Init: HFInit(1), Format: BF16})
	e := fresh.Embedding("wte.weight", 10, 4)
	n := fresh.RMSNorm("norm", 4, 1e-6)
	if e == nil || e.Bytes() != 80 || n.W[0] != 1 || fresh.Err() != nil {
		t.Fatal("fresh tensors are not initialised")
	}
}
