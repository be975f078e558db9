package kernels

import (
	"fmt"
	"testing"
)

func BenchmarkTmpTrans(b *testing.B) {
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		b.Run(fmt.Sprintf("tA=%v,tB=%v", tr[0], tr[1]), func(b *testing.B) { benchSgemmShape(b, tr[0], tr[1], 1024, 1024, 1024) })
	}
}
