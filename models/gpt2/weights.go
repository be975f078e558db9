package gpt2

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
)

// Letters used in shape comments: B batch, T sequence length, C n_embd,
// V vocab_size, P n_positions, H n_head, D = C/H, F the MLP width (4·C),
// L n_layer.

// Weights are GPT-2's parameters, each a view into one flat buffer. The same
// type holds the gradients.
type Weights struct {
	Wte    []float32 // transformer.wte.weight [V, C]; also the lm_head
	Wpe    []float32 // transformer.wpe.weight [P, C]
	Blocks []BlockWeights
	LnFW   []float32 // transformer.ln_f.weight [C]
	LnFB   []float32 // transformer.ln_f.bias [C]
}

// BlockWeights are the parameters of one transformer block.
type BlockWeights struct {
	Ln1W, Ln1B       []float32 // ln_1 [C]
	AttnW, AttnB     []float32 // attn.c_attn [C, 3C], [3C]: q | k | v
	AttnPW, AttnPB   []float32 // attn.c_proj [C, C], [C]
	Ln2W, Ln2B       []float32 // ln_2 [C]
	FcW, FcB         []float32 // mlp.c_fc [C, F], [F]
	FcProjW, FcProjB []float32 // mlp.c_proj [F, C], [C]
}

// tensorSpec names one parameter: its HF name (without the "transformer."
// prefix), shape, and where its view lives in a Weights.
type tensorSpec struct {
	name  string
	shape []int
	view  func(w *Weights) *[]float32
}

// specs lists every parameter in a fixed order: HF's state_dict order.
func (c Config) specs() []tensorSpec {
	C, F := c.NumEmbd, c.Inner()
	s := []tensorSpec{
		{"wte.weight", []int{c.VocabSize, C}, func(w *Weights) *[]float32 { return &w.Wte }},
		{"wpe.weight", []int{c.NumPos, C}, func(w *Weights) *[]float32 { return &w.Wpe }},
	}
	for l := 0; l < c.NumLayer; l++ {
		p := fmt.Sprintf("h.%d.", l)
		blk := func(f func(b *BlockWeights) *[]float32) func(w *Weights) *[]float32 {
			return func(w *Weights) *[]float32 { return f(&w.Blocks[l]) }
		}
		s = append(s,
			tensorSpec{p + "ln_1.weight", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.Ln1W })},
			tensorSpec{p + "ln_1.bias", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.Ln1B })},
			tensorSpec{p + "attn.c_attn.weight", []int{C, 3 * C}, blk(func(b *BlockWeights) *[]float32 { return &b.AttnW })},
			tensorSpec{p + "attn.c_attn.bias", []int{3 * C}, blk(func(b *BlockWeights) *[]float32 { return &b.AttnB })},
			tensorSpec{p + "attn.c_proj.weight", []int{C, C}, blk(func(b *BlockWeights) *[]float32 { return &b.AttnPW })},
			tensorSpec{p + "attn.c_proj.bias", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.AttnPB })},
			tensorSpec{p + "ln_2.weight", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.Ln2W })},
			tensorSpec{p + "ln_2.bias", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.Ln2B })},
			tensorSpec{p + "mlp.c_fc.weight", []int{C, F}, blk(func(b *BlockWeights) *[]float32 { return &b.FcW })},
			tensorSpec{p + "mlp.c_fc.bias", []int{F}, blk(func(b *BlockWeights) *[]float32 { return &b.FcB })},
			tensorSpec{p + "mlp.c_proj.weight", []int{F, C}, blk(func(b *BlockWeights) *[]float32 { return &b.FcProjW })},
			tensorSpec{p + "mlp.c_proj.bias", []int{C}, blk(func(b *BlockWeights) *[]float32 { return &b.FcProjB })},
		)
	}
	s = append(s,
		tensorSpec{"ln_f.weight", []int{C}, func(w *Weights) *[]float32 { return &w.LnFW }},
		tensorSpec{"ln_f.bias", []int{C}, func(w *Weights) *[]float32 { return &w.LnFB }},
	)
	return s
}

// NumParams returns the number of parameters (the tied lm_head counted once).
func (c Config) NumParams() int {
	n := 0
	for _, s := range c.specs() {
		n += numel(s.shape)
	}
	return n
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// newWeights lays out zeroed parameters over one buffer.
func newWeights(c Config) (*Weights, []float32) {
	buf := make([]float32, c.NumParams())
	kernels.AdviseHugePages(buf)
	w := &Weights{Blocks: make([]BlockWeights, c.NumLayer)}
	off := 0
	for _, s := range c.specs() {
		n := numel(s.shape)
		*s.view(w) = buf[off : off+n : off+n]
		off += n
	}
	return w, buf
}
