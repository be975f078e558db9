package nn

import (
	"slices"
	"testing"
)

func TestKVCache(t *testing.T) {
	const L, B, H, M, D = 2, 2, 2, 5, 3
	c, err := NewKVCache(L, B, H, M, D)
	if err != nil {
		t.Fatal(err)
	}
	// Two positions per row, rows of width H·D with a stride of 8 (as column
	// slices of a fused buffer). Value = 1000·b + 100·t + 10·h + d (+0.5 for v).
	const stride = 8
	put := func(T, t0 int) {
		k := make([]float32, B*T*stride)
		v := make([]float32, B*T*stride)
		for b := range B {
			for t := range T {
				for h := range H {
					for d := range D {
						x := float32(1000*b + 100*(t0+t) + 10*h + d)
						k[(b*T+t)*stride+h*D+d] = x
						v[(b*T+t)*stride+h*D+d] = x + 0.5
					}
				}
			}
		}
		for l := range L {
			c.Put(l, T, k, v, stride)
		}
	}
	put(2, 0)
	c.Advance(2, []bool{false, true, true, true})
	put(1, 2)
	c.Advance(1, nil)
	if c.Len() != 3 || c.Free() != 2 {
		t.Fatalf("Len %d Free %d", c.Len(), c.Free())
	}
	key := func(layer, b, h, s, d int) float32 { return c.Keys(layer, b, h)[d*M+s] }
	for b := range B {
		for h := range H {
			for s := range 3 {
				for d := range D {
					want := float32(1000*b + 100*s + 10*h + d)
					if got := key(1, b, h, s, d); got != want {
						t.Fatalf("key b%d h%d s%d d%d = %v, want %v", b, h, s, d, got, want)
					}
					if got := c.Values(0, b, h)[d*M+s]; got != want+0.5 {
						t.Fatalf("value b%d h%d s%d d%d = %v", b, h, s, d, got)
					}
				}
			}
		}
	}
	if got := c.Valid(0)[:3]; !slices.Equal(got, []bool{false, true, true}) {
		t.Errorf("row 0 valid %v", got)
	}
	// Reorder: both rows continue from row 1.
	if err := c.Reorder([]int{1, 1}); err != nil {
		t.Fatal(err)
	}
	if key(0, 0, 1, 2, 1) != 1000+200+10+1 || !slices.Equal(c.Valid(0)[:3], []bool{true, true, true}) {
		t.Errorf("reorder did not copy row 1 into row 0")
	}
	for _, src := range [][]int{{0}, {0, 2}, {-1, 0}} {
		if err := c.Reorder(src); err == nil {
			t.Errorf("Reorder(%v): no error", src)
		}
	}
	c.Reset()
	if c.Len() != 0 || slices.Contains(c.Valid(1), true) {
		t.Error("Reset left state behind")
	}
	if _, err := NewKVCache(1, 0, 1, 1, 1); err == nil {
		t.Error("zero batch accepted")
	}
}
