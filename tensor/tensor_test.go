package tensor

import (
	"errors"
	"math"
	"testing"
)

func close32(a, b float32, tol float64) bool {
	return math.Abs(float64(a-b)) <= tol*(1+math.Abs(float64(b)))
}

func assertValues(t *testing.T, what string, got *Tensor, shape Shape, want []float32) {
	t.Helper()
	if !got.Shape().Equal(shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape(), shape)
	}
	g := got.Values()
	if len(g) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(g), len(want))
	}
	for i := range g {
		if !close32(g[i], want[i], 1e-5) {
			t.Fatalf("%s: values %v, want %v", what, g, want)
		}
	}
}

func seq(shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.data {
		t.data[i] = float32(i)
	}
	return t
}

func TestViews(t *testing.T) {
	x := seq(2, 3, 4)
	cases := []struct {
		name       string
		got        *Tensor
		shape      Shape
		want       []float32
		contiguous bool
	}{
		{"transpose", seq(2, 3).T(), Shape{3, 2}, []float32{0, 3, 1, 4, 2, 5}, false},
		{"permute", x.Permute(2, 0, 1).Slice(0, 1, 2), Shape{1, 2, 3}, []float32{1, 5, 9, 13, 17, 21}, false},
		{"slice", x.Slice(1, 1, 3).Select(0, 1), Shape{2, 4}, []float32{16, 17, 18, 19, 20, 21, 22, 23}, true},
		{"select-last", x.Select(-1, 3), Shape{2, 3}, []float32{3, 7, 11, 15, 19, 23}, false},
		{"expand", seq(3, 1).Expand(2, 3, 2), Shape{2, 3, 2}, []float32{0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2}, false},
		{"reshape-infer", x.Reshape(-1, 6).Slice(0, 3, 4), Shape{1, 6}, []float32{18, 19, 20, 21, 22, 23}, true},
		{"reshape-of-view-copies", seq(2, 3).T().Reshape(6), Shape{6}, []float32{0, 3, 1, 4, 2, 5}, true},
		{"unsqueeze", seq(3).Unsqueeze(0).Unsqueeze(-1), Shape{1, 3, 1}, []float32{0, 1, 2}, true},
		{"squeeze", seq(1, 3).Squeeze(0), Shape{3}, []float32{0, 1, 2}, true},
		{"split", Split(seq(5, 2), 0, 2, 3)[1], Shape{3, 2}, []float32{4, 5, 6, 7, 8, 9}, true},
		{"chunk", Chunk(seq(2, 4), 1, 2)[1], Shape{2, 2}, []float32{2, 3, 6, 7}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertValues(t, tc.name, tc.got, tc.shape, tc.want)
			if tc.got.IsContiguous() != tc.contiguous {
				t.Errorf("IsContiguous = %v, want %v", tc.got.IsContiguous(), tc.contiguous)
			}
		})
	}
	// Views share storage.
	v := x.Transpose(0, 2)
	v.Set(-1, 3, 2, 1)
	if x.At(1, 2, 3) != -1 {
		t.Error("transpose is not a view")
	}
	c := v.Contiguous()
	if c == v || !c.IsContiguous() {
		t.Error("Contiguous of a transposed view must copy")
	}
	if y := seq(2, 2); y.Contiguous() != y {
		t.Error("Contiguous of a dense tensor must not copy")
	}
}

func TestBroadcasting(t *testing.T) {
	a := seq(2, 3)
	cases := []struct {
		name  string
		got   *Tensor
		shape Shape
		want  []float32
	}{
		{"add-row", Add(a, MustFromData([]float32{10, 20, 30}, 3)), Shape{2, 3}, []float32{10, 21, 32, 13, 24, 35}},
		{"add-col", Add(a, MustFromData([]float32{100, 200}, 2, 1)), Shape{2, 3}, []float32{100, 101, 102, 203, 204, 205}},
		{"outer", Mul(MustFromData([]float32{1, 2}, 2, 1), MustFromData([]float32{1, 10, 100}, 1, 3)), Shape{2, 3}, []float32{1, 10, 100, 2, 20, 200}},
		{"sub-scalar-tensor", Sub(a, Scalar(1)), Shape{2, 3}, []float32{-1, 0, 1, 2, 3, 4}},
		{"div-transposed", Div(seq(3, 2).T(), Full(2, 3)), Shape{2, 3}, []float32{0, 1, 2, 0.5, 1.5, 2.5}},
		{"rank-3", Add(seq(2, 1, 2), seq(3, 1)), Shape{2, 3, 2}, []float32{0, 1, 1, 2, 2, 3, 2, 3, 3, 4, 4, 5}},
		{"maximum", Maximum(a, Scalar(2.5)), Shape{2, 3}, []float32{2.5, 2.5, 2.5, 3, 4, 5}},
		{"masked-fill", MaskedFill(a, MustFromData([]float32{1, 0, 1}, 3), -1), Shape{2, 3}, []float32{-1, 1, -1, -1, 4, -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assertValues(t, tc.name, tc.got, tc.shape, tc.want) })
	}
	err := Try(func() { Add(seq(2, 3), seq(2)) })
	var se *ShapeError
	if !errors.As(err, &se) || se.Op != "add" {
		t.Fatalf("Add([2 3], [2]) error = %v, want *ShapeError from add", err)
	}
	if se.Error() != "tensor: add [2 3] [2]: shapes do not broadcast" {
		t.Errorf("message %q", se.Error())
	}
}

func TestBroadcastLarge(t *testing.T) {
	// Exercise the parallel path against a scalar loop.
	rng := NewRNG(1)
	a := rng.Randn(64, 33, 40)
	b := rng.Randn(33, 1)
	got := Add(a.Permute(0, 2, 1), b.T())
	want := New(64, 40, 33)
	for i := 0; i < 64; i++ {
		for j := 0; j < 40; j++ {
			for k := 0; k < 33; k++ {
				want.Set(a.At(i, k, j)+b.At(k, 0), i, j, k)
			}
		}
	}
	assertValues(t, "large", got, want.Shape(), want.Values())
}

func TestAccumulateInto(t *testing.T) {
	dst := New(1, 3)
	AccumulateInto(dst, seq(2, 2, 3))
	assertValues(t, "bias-grad", dst, Shape{1, 3}, []float32{18, 22, 26})
	col := New(2, 1)
	AccumulateInto(col, seq(2, 3))
	assertValues(t, "col", col, Shape{2, 1}, []float32{3, 12})
}

func TestReductions(t *testing.T) {
	x := MustFromData([]float32{1, 5, 2, 7, 0, 3}, 2, 3)
	assertValues(t, "sum0", Sum(x, 0, false), Shape{3}, []float32{8, 5, 5})
	assertValues(t, "sum1k", Sum(x, 1, true), Shape{2, 1}, []float32{8, 10})
	assertValues(t, "mean-1", Mean(x, -1, false), Shape{2}, []float32{8.0 / 3, 10.0 / 3})
	assertValues(t, "max0", Max(x, 0, false), Shape{3}, []float32{7, 5, 3})
	if got := ArgMax(x, 1); got[0] != 1 || got[1] != 0 {
		t.Errorf("ArgMax = %v", got)
	}
	if SumAll(x) != 18 || MaxAll(x) != 7 || !close32(MeanAll(x), 3, 1e-6) {
		t.Errorf("SumAll %v MaxAll %v MeanAll %v", SumAll(x), MaxAll(x), MeanAll(x))
	}
	assertValues(t, "sum-view", Sum(x.T(), 1, false), Shape{3}, []float32{8, 5, 5})
}

// naiveMatMul multiplies [..., M, K] @ [..., K, N] with equal batch dims.
func naiveMatMul(a, b *Tensor) *Tensor {
	sh, err := MatMulShape(a.Shape(), b.Shape())
	if err != nil {
		panic(err)
	}
	out := New(sh...)
	n := len(sh)
	ae := a.Expand(append(Shape(sh[:n-2]).Clone(), a.Dim(-2), a.Dim(-1))...).Contiguous().Reshape(-1, a.Dim(-2), a.Dim(-1))
	be := b.Expand(append(Shape(sh[:n-2]).Clone(), b.Dim(-2), b.Dim(-1))...).Contiguous().Reshape(-1, b.Dim(-2), b.Dim(-1))
	o := out.Reshape(-1, sh[n-2], sh[n-1])
	for p := 0; p < o.Dim(0); p++ {
		for i := 0; i < o.Dim(1); i++ {
			for j := 0; j < o.Dim(2); j++ {
				var s float64
				for k := 0; k < ae.Dim(2); k++ {
					s += float64(ae.At(p, i, k)) * float64(be.At(p, k, j))
				}
				o.Set(float32(s), p, i, j)
			}
		}
	}
	return out
}

func TestMatMul(t *testing.T) {
	rng := NewRNG(2)
	cases := []struct {
		name string
		a, b *Tensor
	}{
		{"2d", rng.Randn(3, 4), rng.Randn(4, 5)},
		{"a-transposed", rng.Randn(4, 3).T(), rng.Randn(4, 5)},
		{"b-transposed", rng.Randn(3, 4), rng.Randn(5, 4).T()},
		{"both-transposed", rng.Randn(4, 3).T(), rng.Randn(5, 4).T()},
		{"batched", rng.Randn(2, 3, 4), rng.Randn(2, 4, 5)},
		{"batched-shared-weight", rng.Randn(2, 3, 4), rng.Randn(4, 5)},
		{"batched-shared-weight-T", rng.Randn(2, 3, 4), rng.Randn(5, 4).T()},
		{"broadcast-batch", rng.Randn(3, 1, 2, 4), rng.Randn(2, 4, 3)},
		{"permuted-heads", rng.Randn(2, 3, 2, 4).Permute(0, 2, 1, 3), rng.Randn(2, 5, 2, 4).Permute(0, 2, 3, 1)},
		{"sliced", rng.Randn(3, 6).Slice(1, 1, 5), rng.Randn(4, 2)},
		{"vector-row", rng.Randn(1, 4), rng.Randn(4, 3)},
		{"row-slice", rng.Randn(3, 8).Slice(1, 2, 6), rng.Randn(4, 2)},
		{"no-dense-dim-copies", rng.Randn(4, 3, 2).Select(2, 1), rng.Randn(3, 2)},
		{"broadcast-rows", rng.Randn(1, 4).Expand(3, 4), rng.Randn(4, 2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := naiveMatMul(tc.a, tc.b)
			got := MatMul(tc.a, tc.b)
			assertValues(t, "matmul", got, want.Shape(), want.Values())
		})
	}
	if err := Try(func() { MatMul(New(2, 3), New(2, 3)) }); err == nil {
		t.Error("MatMul [2 3]@[2 3] did not fail")
	}
	// Gemm accumulates.
	a, b := rng.Randn(2, 3), rng.Randn(3, 2)
	c := Full(1, 2, 2)
	Gemm(c, a, b, 2, 0.5)
	want := AddScalar(MulScalar(naiveMatMul(a, b), 2), 0.5)
	assertValues(t, "gemm", c, want.Shape(), want.Values())
}

func TestLinear(t *testing.T) {
	rng := NewRNG(4)
	x, w, b := rng.Randn(2, 3, 4), rng.Randn(5, 4), rng.Randn(5)
	want := Add(MatMul(x, w.T()), b)
	assertValues(t, "linear", Linear(x, w, b), want.Shape(), want.Values())
	assertValues(t, "linear-t", LinearT(x, w.T().Contiguous(), b), want.Shape(), want.Values())
	assertValues(t, "linear-view-x", Linear(x.Permute(1, 0, 2), w, nil), Shape{3, 2, 5}, MatMul(x.Permute(1, 0, 2), w.T()).Values())
	dst := New(2, 3, 5)
	LinearInto(dst, x, w, b)
	assertValues(t, "linear-into", dst, want.Shape(), want.Values())
	if _, err := LinearShape(Shape{2, 3}, Shape{5, 4}, nil, false); err == nil {
		t.Error("LinearShape accepted mismatched features")
	}
}

func TestRowOps(t *testing.T) {
	x := MustFromData([]float32{1, 2, 3, 0, 0, 0}, 2, 3)
	e1, e2, e3 := math.Exp(1), math.Exp(2), math.Exp(3)
	z := e1 + e2 + e3
	assertValues(t, "softmax", Softmax(x), Shape{2, 3}, []float32{float32(e1 / z), float32(e2 / z), float32(e3 / z), 1. / 3, 1. / 3, 1. / 3})
	assertValues(t, "log-softmax", LogSoftmax(x), Shape{2, 3}, []float32{float32(1 - math.Log(z)), float32(2 - math.Log(z)), float32(3 - math.Log(z)), float32(-math.Log(3)), float32(-math.Log(3)), float32(-math.Log(3))})
	inf := float32(math.Inf(-1))
	assertValues(t, "softmax-all-masked", Softmax(MustFromData([]float32{inf, inf}, 1, 2)), Shape{1, 2}, []float32{0, 0})
	// LayerNorm of [1 2 3]: mean 2, var 2/3.
	r := float32(1 / math.Sqrt(2.0/3+1e-5))
	ln := LayerNorm(x, MustFromData([]float32{1, 2, 1}, 3), MustFromData([]float32{0, 0, 1}, 3), 1e-5)
	assertValues(t, "layer-norm", ln.Slice(0, 0, 1), Shape{1, 3}, []float32{-r, 0, r + 1})
	rms := RMSNorm(x, nil, 0)
	q := float32(1 / math.Sqrt(14.0/3))
	assertValues(t, "rms-norm", rms.Slice(0, 0, 1), Shape{1, 3}, []float32{q, 2 * q, 3 * q})
	g := GELU(MustFromData([]float32{-1, 0, 1}, 3))
	assertValues(t, "gelu", g, Shape{3}, []float32{-0.15865525, 0, 0.84134475})
}

func TestEmbedding(t *testing.T) {
	table := seq(4, 2)
	e, err := Embedding(table, []int{3, 0, 3}, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	assertValues(t, "embedding", e, Shape{1, 3, 2}, []float32{6, 7, 0, 1, 6, 7})
	for _, ids := range [][]int{{4}, {-1}, {0, 9}} {
		if _, err := Embedding(table, ids); err == nil {
			t.Errorf("ids %v: no error", ids)
		}
	}
	if _, err := Embedding(table, []int{1, 2}, 3); err == nil {
		t.Error("shape mismatch: no error")
	}
}

func TestCrossEntropy(t *testing.T) {
	logits := MustFromData([]float32{
		1, 2, 3,
		0, 0, 0,
		2, -1, 0.5,
	}, 3, 3)
	lse := func(r []float64) float64 {
		var s float64
		for _, v := range r {
			s += math.Exp(v)
		}
		return math.Log(s)
	}
	rows := [][]float64{{1, 2, 3}, {0, 0, 0}, {2, -1, 0.5}}
	nll := func(r int, y int) float64 { return lse(rows[r]) - rows[r][y] }
	smooth := func(r, y int, eps float64) float64 {
		var s float64
		for j := range rows[r] {
			s += lse(rows[r]) - rows[r][j]
		}
		return (1-eps)*nll(r, y) + eps*s/3
	}
	cases := []struct {
		name    string
		targets []int
		opts    CrossEntropyOptions
		want    float64
	}{
		{"plain", []int{2, 0, 1}, CrossEntropyOptions{}, (nll(0, 2) + nll(1, 0) + nll(2, 1)) / 3},
		{"ignore-default", []int{2, -100, 1}, CrossEntropyOptions{}, (nll(0, 2) + nll(2, 1)) / 2},
		{"ignore-custom", []int{2, 0, 7}, CrossEntropyOptions{IgnoreIndex: 7}, (nll(0, 2) + nll(1, 0)) / 2},
		{"smoothing", []int{2, 0, 1}, CrossEntropyOptions{LabelSmoothing: 0.2}, (smooth(0, 2, 0.2) + smooth(1, 0, 0.2) + smooth(2, 1, 0.2)) / 3},
		{"smoothing+ignore", []int{-100, 0, 1}, CrossEntropyOptions{LabelSmoothing: 0.1}, (smooth(1, 0, 0.1) + smooth(2, 1, 0.1)) / 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CrossEntropy(logits, tc.targets, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !(math.Abs(float64(got)-tc.want) <= 1e-5) {
				t.Fatalf("loss %v, want %v", got, tc.want)
			}
		})
	}
	if l, _ := CrossEntropy(logits, []int{-100, -100, -100}, CrossEntropyOptions{}); !math.IsNaN(float64(l)) {
		t.Errorf("all ignored: %v, want NaN", l)
	}
	for _, bad := range [][]int{{0, 1}, {0, 1, 3}, {0, -1, 1}} {
		if _, err := CrossEntropy(logits, bad, CrossEntropyOptions{}); err == nil {
			t.Errorf("targets %v: no error", bad)
		}
	}
}

func TestConcat(t *testing.T) {
	got := Concat(1, seq(2, 1), seq(2, 2).T())
	assertValues(t, "concat", got, Shape{2, 3}, []float32{0, 0, 2, 1, 1, 3})
	if _, err := ConcatShape(0, Shape{2, 3}, Shape{2, 4}); err == nil {
		t.Error("ConcatShape accepted mismatched shapes")
	}
}

func TestRNG(t *testing.T) {
	a, b := NewRNG(9).Randn(100), NewRNG(9).Randn(100)
	for i := range a.data {
		if a.data[i] != b.data[i] {
			t.Fatal("same seed, different streams")
		}
	}
	tn := New(10000)
	NewRNG(3).TruncNormal(tn, 0, 1, -0.5, 1)
	var mean float64
	for _, v := range tn.data {
		if v < -0.5 || v > 1 {
			t.Fatalf("trunc normal sample %v outside [-0.5, 1]", v)
		}
		mean += float64(v)
	}
	mean /= float64(len(tn.data))
	// Mean of N(0,1) truncated to [-0.5, 1]: (φ(-0.5) − φ(1)) / (Φ(1) − Φ(-0.5)) ≈ 0.2001.
	if math.Abs(mean-0.2001) > 0.02 {
		t.Errorf("trunc normal mean %v, want ≈ 0.200", mean)
	}
	m := make([]float32, 10000)
	NewRNG(4).DropoutMask(m, 0.25)
	zeros := 0
	for _, v := range m {
		switch v {
		case 0:
			zeros++
		case 1 / 0.75:
		default:
			t.Fatalf("dropout mask value %v", v)
		}
	}
	if zeros < 2300 || zeros > 2700 {
		t.Errorf("dropout zeros %d of 10000, want ≈ 2500", zeros)
	}
}

// TestDropoutMaskStream checks that DropoutMask draws exactly the masks of
// the Float32 loop it stands for, and leaves the stream where that loop
// would.
func TestDropoutMaskStream(t *testing.T) {
	for _, p := range []float32{0, 1e-7, 0.1, 0.25, 0.5, 0.9, 0.999999} {
		got := make([]float32, 4097)
		fast, ref := NewRNG(21), NewRNG(21)
		fast.DropoutMask(got, p)
		scale := 1 / (1 - p)
		for i, v := range got {
			want := scale
			if ref.Float32() < p {
				want = 0
			}
			if v != want {
				t.Fatalf("p %g: mask[%d] = %v, want %v", p, i, v, want)
			}
		}
		if a, b := fast.Float32(), ref.Float32(); a != b {
			t.Errorf("p %g: next draw %v after the mask, want %v", p, a, b)
		}
	}
}

func TestFromDataErrors(t *testing.T) {
	if _, err := FromData(make([]float32, 5), 2, 3); err == nil {
		t.Error("FromData accepted 5 values for [2 3]")
	}
	if got := Arange(0, 1, 0.25).Values(); len(got) != 4 || got[3] != 0.75 {
		t.Errorf("Arange = %v", got)
	}
	if err := Try(func() { seq(2, 3).Reshape(4, -1) }); err == nil {
		t.Error("Reshape [2 3] → [4 -1] did not fail")
	}
}

// TestMatMulViewsDoNotCopy checks that transposed and permuted operands are
// passed to Sgemm as flags and leading dimensions, not copies.
func TestMatMulViewsDoNotCopy(t *testing.T) {
	rng := NewRNG(1)
	cases := []struct {
		name  string
		v     *Tensor
		trans bool
		ld    int
	}{
		{"dense", rng.Randn(3, 4), false, 4},
		{"transposed", rng.Randn(3, 4).T(), true, 4},
		{"row-slice", rng.Randn(3, 8).Slice(1, 2, 6), false, 8},
		{"heads", rng.Randn(2, 5, 3, 4).Permute(0, 2, 1, 3), false, 12},
		{"heads-transposed", rng.Randn(2, 5, 3, 4).Permute(0, 2, 3, 1), true, 12},
	}
	for _, tc := range cases {
		m := asMatrix(tc.v)
		if m.t != tc.v || m.trans != tc.trans || m.ld != tc.ld {
			t.Errorf("%s: copied=%v trans=%v ld=%d, want no copy, trans=%v ld=%d", tc.name, m.t != tc.v, m.trans, m.ld, tc.trans, tc.ld)
		}
	}
}
