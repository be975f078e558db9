package gguf_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/checkpoint/gguf"
)

// Write a small GGUF file with a quantized matrix and read it back.
func Example() {
	dir, err := os.MkdirTemp("", "gguf-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.gguf")

	// A [2, 32] matrix: rows of 32 values, one Q8_0 block each.
	w := make([]float32, 2*32)
	for i := range w {
		w[i] = float32(i%32-16) / 16
	}
	var out gguf.Writer
	out.Set("general.architecture", "llama")
	out.Set("llama.block_count", uint32(1))
	out.Set("tokenizer.ggml.tokens", []string{"<unk>", "<s>", "</s>"})
	if err := out.AddTensor("blk.0.attn_q.weight", []int{2, 32}, gguf.Q8_0, w); err != nil {
		log.Fatal(err)
	}
	if err := out.AddTensor("output_norm.weight", []int{32}, gguf.F32, w[:32]); err != nil {
		log.Fatal(err)
	}
	if err := out.Save(path); err != nil {
		log.Fatal(err)
	}

	f, err := gguf.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	n, _ := f.Uint("llama.block_count")
	tokens, _ := f.Strings("tokenizer.ggml.tokens")
	fmt.Println(f.Architecture(), n, "block,", len(tokens), "tokens")
	for _, t := range f.Tensors() {
		fmt.Println(t.Name, t.Type, "shape", t.Shape, "ne", t.Dims(), t.Size, "bytes")
	}
	// Dequantized: q·d, with d = 1/127 rounded to half precision.
	q, _ := f.Float32("blk.0.attn_q.weight")
	fmt.Println(q[:4], q[31])
	blocks, _ := f.Q8_0Blocks("blk.0.attn_q.weight")
	fmt.Println(len(blocks), "blocks, d =", blocks[0].Scale(), "q =", blocks[0].Qs[:4])
	// Output:
	// llama 1 block, 3 tokens
	// blk.0.attn_q.weight Q8_0 shape [2 32] ne [32 2] 68 bytes
	// output_norm.weight F32 shape [32] ne [32] 128 bytes
	// [-0.99993896 -0.9369507 -0.8739624 -0.8109741] 0.9369507
	// 2 blocks, d = 0.007873535 q = [-127 -119 -111 -103]
}
