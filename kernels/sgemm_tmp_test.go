package kernels

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

func TestTmpKC(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1024, 2048} {
		a, b, c := randMatrix(rng, n, n), randMatrix(rng, n, n), make([]float32, n*n)
		kcs := []int{256, 320, 384, 512}
		best := make([]float64, len(kcs))
		med := make([][]float64, len(kcs))
		for i := range best {
			best[i] = 1e9
		}
		reps := 25
		if n == 2048 {
			reps = 6
		}
		for r := 0; r < reps; r++ {
			for i, kc := range kcs {
				sgemmImpl.kc = kc
				t0 := time.Now()
				Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
				d := time.Since(t0).Seconds()
				best[i] = min(best[i], d)
				med[i] = append(med[i], d)
			}
		}
		sgemmImpl.kc = 256
		for i, kc := range kcs {
			t.Logf("n=%d kc=%d best %.1f GFLOPS", n, kc, 2*float64(n*n*n)/best[i]/1e9)
		}
	}
}
