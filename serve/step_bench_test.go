package serve

import (
	"fmt"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// BenchmarkStories260KStep times the batched decoding step the scheduler
// runs, at 1, 2, 4 and 8 rows over contexts growing to 200 tokens, and reports
// its CPU time per row: how much a token of a batch costs against a lone
// one, the bound of what batching can give the load test.
//
//	go test -run '^$' -bench Stories260KStep ./serve
func BenchmarkStories260KStep(b *testing.B) {
	dir := testenv.Shared(b, "models", "stories260K")
	m, err := Load(dir+"/stories260K.bin", LoadOptions{Tokenizer: dir + "/tok512.bin"})
	if err != nil {
		b.Fatal(err)
	}
	const ctx = 200
	for _, rows := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			st, err := m.LM.NewBatch(rows, 256)
			if err != nil {
				b.Fatal(err)
			}
			rs, toks := make([]int, rows), make([][]int, rows)
			for r := range rows {
				rs[r], toks[r] = r, []int{1}
			}
			c0 := cpuTime()
			b.ResetTimer()
			for i := range b.N {
				if i%ctx == 0 {
					for r := range rows {
						st.Clear(r)
					}
				}
				if _, err := st.Step(rs, toks); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/1e3/float64(b.N*rows), "cpu-µs/row")
		})
	}
}
