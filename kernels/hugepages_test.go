package kernels

import "testing"

// TestAdviseHugePages checks that the hint accepts any slice — empty, within
// one page, unaligned, large — and leaves its contents alone.
func TestAdviseHugePages(t *testing.T) {
	AdviseHugePages(nil)
	big := make([]float32, 3<<20)
	for i := range big {
		big[i] = float32(i)
	}
	for _, s := range [][]float32{big[:0], big[:1], big[3:1000], big[1:], big} {
		AdviseHugePages(s)
	}
	for i, v := range big {
		if v != float32(i) {
			t.Fatalf("big[%d] = %v after the hint", i, v)
		}
	}
}
