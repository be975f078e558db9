package quantize_test

import (
	"fmt"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/quantize"
)

// The types llama-quantize gives stories260K's tensors in a Q4_0 file: the
// tied embedding is the output matrix (Q8_0), ffn_down's 172-wide rows do
// not fit 32-element blocks (F16), norms stay F32.
func ExampleTypeFor() {
	for _, t := range []struct {
		name  string
		shape []int
	}{
		{"token_embd.weight", []int{512, 64}},
		{"blk.0.attn_norm.weight", []int{64}},
		{"blk.0.attn_q.weight", []int{64, 64}},
		{"blk.0.ffn_down.weight", []int{64, 172}},
	} {
		typ, note, err := quantize.TypeFor(t.name, t.shape, gguf.Q4_0, true, false)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-22s %-5v %s", t.name, typ, note)))
	}
	// Output:
	// token_embd.weight      Q8_0  output matrix: Q8_0 (rows not a multiple of 256 for Q6_K)
	// blk.0.attn_norm.weight F32   1-D
	// blk.0.attn_q.weight    Q4_0
	// blk.0.ffn_down.weight  F16   rows of 172 are not a multiple of 32: F16
}
