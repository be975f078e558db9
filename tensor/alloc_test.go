package tensor

import "testing"

// TestIntoAllocs checks that the inference-path Into variants allocate
// nothing on small inputs (no goroutines are started below the parallel
// threshold).
func TestIntoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	rng := NewRNG(1)
	x := rng.Randn(4, 64)
	w := rng.Randn(32, 64)
	bias := rng.Randn(32)
	g := rng.Randn(64)
	out := New(4, 32)
	wt := w.T()
	xb, wb, outb := rng.Randn(2, 4, 64), rng.Randn(2, 64, 32), New(2, 4, 32)
	sm := New(4, 64)
	cases := []struct {
		name string
		f    func()
	}{
		{"linear", func() { LinearInto(out, x, w, bias) }},
		{"matmul", func() { MatMulInto(out, x, wt) }},
		{"matmul-batched", func() { MatMulInto(outb, xb, wb) }},
		{"matmul-shared", func() { MatMulInto(outb, xb, wt) }},
		{"softmax", func() { SoftmaxInto(sm, x) }},
		{"layernorm", func() { LayerNormInto(sm, x, g, g, 1e-5) }},
		{"rmsnorm", func() { RMSNormInto(sm, x, g, 1e-5) }},
		{"add-bias", func() { AddInto(sm, x, g) }},
		{"add", func() { AddInto(sm, x, x) }},
		{"gelu", func() { GELUTanhInto(sm, x) }},
	}
	for _, tc := range cases {
		if n := testing.AllocsPerRun(10, tc.f); n != 0 {
			t.Errorf("%s: %v allocs", tc.name, n)
		}
	}
}
