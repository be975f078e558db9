package tensor

import (
	"testing"
)

// shapesFrom decodes up to two small shapes from data: each byte's low 2
// bits are a dimension (0-3), a byte with the top bit set ends a shape.
func shapesFrom(data []byte) (a, b Shape, rest []int) {
	cur := &a
	for i, c := range data {
		if c&0x80 != 0 {
			if cur == &b {
				for _, r := range data[i+1:] {
					rest = append(rest, int(int8(r))%5)
				}
				return
			}
			cur = &b
			continue
		}
		if len(*cur) < 4 {
			*cur = append(*cur, int(c&3))
		}
	}
	return
}

// FuzzShapes feeds arbitrary shapes to the shape-checked operations: they
// must either succeed or fail with a *ShapeError, never with another panic.
func FuzzShapes(f *testing.F) {
	f.Add([]byte{2, 3, 0x80, 3, 0x80, 1, 0xff})
	f.Add([]byte{1, 2, 3, 0x80, 3, 2, 0x80, 2, 3})
	f.Add([]byte{0, 2, 0x80, 2, 0, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		sa, sb, rest := shapesFrom(data)
		rng := NewRNG(1)
		a, b := rng.Randn(sa...), rng.Randn(sb...)
		ops := []func(){
			func() { Add(a, b) },
			func() { Mul(a.T(), b) },
			func() { MatMul(a, b) },
			func() { MatMul(a.T(), b.T()) },
			func() { a.Reshape(rest...) },
			func() { Concat(0, a, b) },
			func() { a.Expand(sb...) },
			func() { Softmax(a) },
			func() { LayerNorm(a, b, nil, 1e-5) },
			func() { Linear(a, b, nil) },
			func() { Sum(a, len(rest)-2, true) },
			func() { a.Permute(rest...) },
			func() { AccumulateInto(a, b) },
		}
		for _, op := range ops {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("shapes %v %v rest %v: panic %v", sa, sb, rest, r)
					}
				}()
				_ = Try(op)
			}()
		}
	})
}
