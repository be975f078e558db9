package gpt2

import (
	"fmt"

	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/tensor"
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
// prefix), its shape, and its slice in a Weights.
type tensorSpec struct {
	name  string
	shape []int
	data  *[]float32
}

// specs lists every parameter of w (whose Blocks has one entry per layer)
// in a fixed order: HF's state_dict order.
func (c Config) specs(w *Weights) []tensorSpec {
	C, F := c.NumEmbd, c.Inner()
	s := []tensorSpec{{"wte.weight", []int{c.VocabSize, C}, &w.Wte}, {"wpe.weight", []int{c.NumPos, C}, &w.Wpe}}
	for l := range c.NumLayer {
		p, b := fmt.Sprintf("h.%d.", l), &w.Blocks[l]
		s = append(s,
			tensorSpec{p + "ln_1.weight", []int{C}, &b.Ln1W},
			tensorSpec{p + "ln_1.bias", []int{C}, &b.Ln1B},
			tensorSpec{p + "attn.c_attn.weight", []int{C, 3 * C}, &b.AttnW},
			tensorSpec{p + "attn.c_attn.bias", []int{3 * C}, &b.AttnB},
			tensorSpec{p + "attn.c_proj.weight", []int{C, C}, &b.AttnPW},
			tensorSpec{p + "attn.c_proj.bias", []int{C}, &b.AttnPB},
			tensorSpec{p + "ln_2.weight", []int{C}, &b.Ln2W},
			tensorSpec{p + "ln_2.bias", []int{C}, &b.Ln2B},
			tensorSpec{p + "mlp.c_fc.weight", []int{C, F}, &b.FcW},
			tensorSpec{p + "mlp.c_fc.bias", []int{F}, &b.FcB},
			tensorSpec{p + "mlp.c_proj.weight", []int{F, C}, &b.FcProjW},
			tensorSpec{p + "mlp.c_proj.bias", []int{C}, &b.FcProjB},
		)
	}
	return append(s, tensorSpec{"ln_f.weight", []int{C}, &w.LnFW}, tensorSpec{"ln_f.bias", []int{C}, &w.LnFB})
}

// NumParams returns the number of parameters (the tied lm_head counted once).
func (c Config) NumParams() int {
	n := 0
	for _, s := range c.specs(&Weights{Blocks: make([]BlockWeights, c.NumLayer)}) {
		n += tensor.Shape(s.shape).Numel()
	}
	return n
}

// newWeights lays out zeroed parameters over one buffer.
func newWeights(c Config) (*Weights, []float32) {
	buf := make([]float32, c.NumParams())
	kernels.AdviseHugePages(buf)
	w := &Weights{Blocks: make([]BlockWeights, c.NumLayer)}
	off := 0
	for _, s := range c.specs(w) {
		n := tensor.Shape(s.shape).Numel()
		*s.data = buf[off : off+n : off+n]
		off += n
	}
	return w, buf
}
