package autograd

import "testing"

// Buffers are pooled by size class: sizes that differ a little share them,
// so a loop whose shapes vary step to step stops allocating.
func TestGraphSizeClasses(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, 16}, {1, 16}, {16, 16}, {17, 18}, {100, 104}, {128, 128}, {129, 144}, {1000, 1024}, {1025, 1152}, {5000, 5120},
	} {
		if got := sizeClass(tc.n); got != tc.want {
			t.Errorf("sizeClass(%d) = %d, want %d", tc.n, got, tc.want)
		}
		if c := sizeClass(tc.n); sizeClass(c) != c || c < tc.n || (tc.n > 16 && float64(c) > 1.25*float64(tc.n)) {
			t.Errorf("sizeClass(%d) = %d is not a stable class within 25 %%", tc.n, c)
		}
	}
	g := NewGraph()
	for step := range 50 {
		g.Reset()
		n := 1000 + step%7 // 1000..1006: one class
		x := g.Alloc(n)
		if x.Numel() != n {
			t.Fatalf("Alloc(%d) has %d elements", n, x.Numel())
		}
	}
	pooled := 0
	for _, l := range g.free {
		pooled += len(l)
	}
	if pooled > 1 {
		t.Errorf("%d buffers pooled for one varying allocation per step, want 1", pooled)
	}
	g.put(make([]float32, 5, 5)) // not a class: must not be pooled
	if len(g.free[5]) != 0 || len(g.free[16]) != 0 {
		t.Error("a foreign buffer entered the pool")
	}
}
