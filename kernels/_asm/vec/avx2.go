package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// genAVX2 emits the AVX2+FMA variants of the simple streaming kernels, for
// CPUs without AVX-512. They handle a multiple of 8 elements; the Go wrappers
// finish the last 0…7 with the generic code.
func genAVX2() {
	fn("dot256", "func(x, y *float32, n int) float32")
	Doc("dot256 returns Σ x[i]·y[i] over n elements, n a multiple of 8.")
	{
		x, y, n := ptr("x"), ptr("y"), length()
		acc := zerosY(unrollMem)
		forEach256(n, unrollMem, func(b block) {
			b.fma(acc[b.j], b.load(x), b.load(y))
		})
		reduce(acc, vaddps, 0)
		ret()
	}

	fn("sum256", "func(x *float32, n int) float32")
	Doc("sum256 returns Σ x[i] over n elements, n a multiple of 8.")
	{
		x, n := ptr("x"), length()
		acc := zerosY(unrollMem)
		forEach256(n, unrollMem, func(b block) {
			b.accumulate(acc[b.j], b.load(x))
		})
		reduce(acc, vaddps, 0)
		ret()
	}

	fn("axpy256", "func(alpha float32, x, y *float32, n int)")
	Doc("axpy256 computes y += alpha·x over n elements, n a multiple of 8.")
	{
		a := paramY("alpha")
		x, y, n := ptr("x"), ptr("y"), length()
		forEach256(n, unrollMem, func(b block) {
			v := b.load(y)
			VFMADD231PS(b.load(x), a, v)
			b.store(v, y)
		})
		ret()
	}

	fn("scale256", "func(alpha float32, x *float32, n int)")
	Doc("scale256 computes x *= alpha over n elements, n a multiple of 8.")
	{
		a := paramY("alpha")
		x, n := ptr("x"), length()
		forEach256(n, unrollMem, func(b block) {
			v := b.load(x)
			VMULPS(a, v, v)
			b.store(v, x)
		})
		ret()
	}

	for _, op := range []struct {
		name, what string
		emit       func(...Op)
	}{
		{"add256", "x + y", func(o ...Op) { VADDPS(o...) }},
		{"sub256", "x − y", func(o ...Op) { VSUBPS(o...) }},
		{"mul256", "x · y", func(o ...Op) { VMULPS(o...) }},
	} {
		fn(op.name, "func(dst, x, y *float32, n int)")
		Doc(fmt.Sprintf("%s computes dst = %s over n elements, n a multiple of 8.", op.name, op.what))
		dst, x, y, n := ptr("dst"), ptr("x"), ptr("y"), length()
		forEach256(n, unrollMem, func(b block) {
			v := b.load(x)
			op.emit(b.load(y), v, v)
			b.store(v, dst)
		})
		ret()
	}
}
