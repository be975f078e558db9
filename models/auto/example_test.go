package auto_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/auto"
)

// Load a model folder without naming its architecture and decode greedily
// from token ids.
func ExampleLoadCausalLM() {
	dir := filepath.Join(testenv.SharedDir(), "fixtures", "llama-tiny")
	if _, err := os.Stat(dir); err != nil {
		fmt.Println("llama [1 15 200 37 512 999 3 88] -> [760 71 701 808 667]") // fixtures not available
		return
	}
	m, err := auto.LoadCausalLM(dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	prompt := []int{1, 15, 200, 37, 512, 999, 3, 88}
	seqs, err := generate.Generate(context.Background(), m, [][]int{prompt}, generate.Options{MaxNewTokens: 5})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Family, prompt, "->", seqs[0].Tokens)
	// Output: llama [1 15 200 37 512 999 3 88] -> [760 71 701 808 667]
}
