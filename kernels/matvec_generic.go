package kernels

import "math"

// MatVecGeneric is the portable MatVec. It also takes four rows at a time, so
// that the four sums are independent dependency chains sharing each x[i].
func MatVecGeneric(y, x, w []float32) {
	n := len(x)
	w = w[:len(y)*n]
	o := 0
	for ; o+4 <= len(y); o += 4 {
		w0, w1, w2, w3 := w[o*n:(o+1)*n], w[(o+1)*n:(o+2)*n], w[(o+2)*n:(o+3)*n], w[(o+3)*n:(o+4)*n]
		var s0, s1, s2, s3 float32
		for i, v := range x {
			s0 += v * w0[i]
			s1 += v * w1[i]
			s2 += v * w2[i]
			s3 += v * w3[i]
		}
		y[o], y[o+1], y[o+2], y[o+3] = s0, s1, s2, s3
	}
	for ; o < len(y); o++ {
		y[o] = DotGeneric(x, w[o*n:(o+1)*n])
	}
}

// MatVecBF16Generic is the portable MatVecBF16.
func MatVecBF16Generic(y, x []float32, w []uint16) {
	n := len(x)
	w = w[:len(y)*n]
	bf := func(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }
	o := 0
	for ; o+4 <= len(y); o += 4 {
		w0, w1, w2, w3 := w[o*n:(o+1)*n], w[(o+1)*n:(o+2)*n], w[(o+2)*n:(o+3)*n], w[(o+3)*n:(o+4)*n]
		var s0, s1, s2, s3 float32
		for i, v := range x {
			s0 += v * bf(w0[i])
			s1 += v * bf(w1[i])
			s2 += v * bf(w2[i])
			s3 += v * bf(w3[i])
		}
		y[o], y[o+1], y[o+2], y[o+3] = s0, s1, s2, s3
	}
	for ; o < len(y); o++ {
		y[o] = DotBF16Generic(x, w[o*n:(o+1)*n])
	}
}

// VecMatAddGeneric is the portable VecMatAdd: one Axpy per row of w.
func VecMatAddGeneric(y, x, w []float32) {
	m := len(y)
	w = w[:len(x)*m]
	for i, v := range x {
		AxpyGeneric(v, w[i*m:(i+1)*m], y)
	}
}

// matVecGenericLd is MatVecGeneric with rows ldw apart.
func matVecGenericLd(y, x, w []float32, ldw int) {
	if ldw == len(x) {
		MatVecGeneric(y, x, w)
		return
	}
	for o := range y {
		y[o] = DotGeneric(x, w[o*ldw:o*ldw+len(x)])
	}
}

// vecMatAddGenericLd is VecMatAddGeneric with rows ldw apart.
func vecMatAddGenericLd(y, x, w []float32, ldw int) {
	for i, v := range x {
		AxpyGeneric(v, w[i*ldw:i*ldw+len(y)], y)
	}
}
