package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSgemmTriangle checks SgemmTriangle against Sgemm on causal-attention
// shapes and awkward ones, every transposition, several diagonal offsets,
// alpha/beta pairs and block depths past kc: where tri says op(A) is zero
// it is zero, and every element of C that tri wants must equal Sgemm's
// (skipping exact zero terms changes at most the sign of a zero).
func TestSgemmTriangle(t *testing.T) {
	forEachSgemmVariant(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, tc := range []struct {
			m, n, k int
			tri     Triangle
		}{
			{64, 64, 32, Triangle{LowerC: true}},             // scores q·kᵀ
			{64, 32, 64, Triangle{ALower: true}},             // p·v
			{64, 32, 64, Triangle{AUpper: true}},             // pᵀ·do
			{64, 192, 32, Triangle{LowerC: true, Diag: 128}}, // a later row block
			{64, 32, 192, Triangle{ALower: true, Diag: 128}},
			{192, 32, 64, Triangle{AUpper: true, Diag: -128}},
			{100, 77, 300, Triangle{ALower: true, LowerC: true, Diag: 3}},
			{33, 45, 290, Triangle{AUpper: true, Diag: -5}},
			{300, 300, 300, Triangle{ALower: true, AUpper: true, Diag: 0}}, // diagonal A
			{17, 17, 17, Triangle{ALower: true, Diag: -20}},                // op(A) all zero
		} {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, s := range sgemmScalars[:3] {
					name := fmt.Sprintf("%dx%dx%d_%+v_%v%v_%v_%v", tc.m, tc.n, tc.k, tc.tri, tr[0], tr[1], s.alpha, s.beta)
					checkTriangle(t, rng, name, tc.m, tc.n, tc.k, tc.tri, tr[0], tr[1], s.alpha, s.beta)
				}
			}
		}
	})
}

func checkTriangle(t *testing.T, rng *rand.Rand, name string, m, n, k int, tri Triangle, transA, transB bool, alpha, beta float32) {
	t.Helper()
	lda, ldb, ldc := k+1, n+2, n+3
	ar, br := m, k
	if transA {
		lda, ar = m+1, k
	}
	if transB {
		ldb, br = k+2, n
	}
	a, b := randMatrix(rng, ar, lda), randMatrix(rng, br, ldb)
	// op(A)[i][p] = 0 where tri says so.
	for i := 0; i < m; i++ {
		for p := 0; p < k; p++ {
			if tri.ALower && p > i+tri.Diag || tri.AUpper && p < i+tri.Diag {
				if transA {
					a[p*lda+i] = 0
				} else {
					a[i*lda+p] = 0
				}
			}
		}
	}
	c0 := randMatrix(rng, m, ldc)
	want := append([]float32(nil), c0...)
	Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
	got := append([]float32(nil), c0...)
	SgemmTriangle(tri, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, got, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			if tri.LowerC && j > i+tri.Diag {
				continue
			}
			if g, w := got[i*ldc+j], want[i*ldc+j]; g != w {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, g, w)
			}
		}
	}
}
