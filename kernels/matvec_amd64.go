//go:build amd64 && !purego

package kernels

// The wrappers below receive w already cut to len(y)·len(x) by MatVec and
// MatVecBF16; the generated kernels (matVec512 … in vec_amd64.s) take the
// row count m, the row length n and the row stride ldw.

func matVecAVX512(y, x, w []float32, ldw int) {
	if len(y) == 0 {
		return
	}
	matVec512(f32p(y), f32p(x), f32p(w), len(y), len(x), ldw)
}

func matVecBF16AVX512(y, x []float32, w []uint16) {
	if len(y) == 0 {
		return
	}
	matVecBF16_512(f32p(y), f32p(x), u16p(w), len(y), len(x), len(x))
}

// matVecAVX2 runs the AVX2 kernel over the first multiple of 8 columns and
// adds the last 0…7 of each row in Go.
func matVecAVX2(y, x, w []float32, ldw int) {
	m, n := len(y), len(x)
	if m == 0 {
		return
	}
	n8 := n &^ 7
	matVec256(f32p(y), f32p(x), f32p(w), m, n8, ldw)
	if n8 < n {
		for o := range y {
			y[o] += DotGeneric(x[n8:], w[o*ldw+n8:o*ldw+n])
		}
	}
}

func matVecBF16AVX2(y, x []float32, w []uint16) {
	m, n := len(y), len(x)
	if m == 0 {
		return
	}
	n8 := n &^ 7
	matVecBF16_256(f32p(y), f32p(x), u16p(w), m, n8, n)
	if n8 < n {
		for o := range y {
			y[o] += DotBF16Generic(x[n8:], w[o*n+n8:(o+1)*n])
		}
	}
}

func vecMatAddAVX512(y, x, w []float32, ldw int) {
	if len(y) == 0 || len(x) == 0 {
		return
	}
	vecMatAdd512(f32p(y), f32p(x), f32p(w), len(y), len(x), ldw)
}

// vecMatAddAVX2 runs the AVX2 kernel over the first multiple of 8 columns
// and the last 0…7 in Go.
func vecMatAddAVX2(y, x, w []float32, ldw int) {
	m, n := len(y), len(x)
	if m == 0 || n == 0 {
		return
	}
	m8 := m &^ 7
	vecMatAdd256(f32p(y), f32p(x), f32p(w), m8, n, ldw)
	if m8 < m {
		for i, v := range x {
			AxpyGeneric(v, w[i*ldw+m8:i*ldw+m], y[m8:])
		}
	}
}
