package nn

import (
	"math"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/tensor"
)

// SinusoidalTable returns the fixed positional encodings of Vaswani et al.
// (2017), [maxLen, dim]: PE[p, 2i] = sin(p/10000^(2i/dim)) and
// PE[p, 2i+1] = cos(p/10000^(2i/dim)).
func SinusoidalTable(maxLen, dim int) *tensor.Tensor {
	t := tensor.New(maxLen, dim)
	d := t.Data()
	for p := 0; p < maxLen; p++ {
		for i := 0; i < dim; i += 2 {
			angle := float64(p) / math.Pow(10000, float64(i)/float64(dim))
			d[p*dim+i] = float32(math.Sin(angle))
			if i+1 < dim {
				d[p*dim+i+1] = float32(math.Cos(angle))
			}
		}
	}
	return t
}

// SinusoidalPositions adds the fixed sinusoidal encodings to its input. It
// has no parameters.
type SinusoidalPositions struct {
	Table *tensor.Tensor // [MaxLen, Dim]
}

// NewSinusoidalPositions returns encodings for up to maxLen positions.
func NewSinusoidalPositions(maxLen, dim int) *SinusoidalPositions {
	return &SinusoidalPositions{Table: SinusoidalTable(maxLen, dim)}
}

// Forward returns x + PE[offset : offset+T] for x [B, T, Dim].
func (s *SinusoidalPositions) Forward(x *autograd.Var, offset int) *autograd.Var {
	T := x.Value.Dim(-2)
	return autograd.Add(x, autograd.Const(s.Table.Slice(0, offset, offset+T)))
}

// LearnedPositions adds a trained embedding per position (GPT-2's wpe,
// BERT's position_embeddings).
type LearnedPositions struct {
	Weight *autograd.Var // [MaxLen, Dim]
}

// NewLearnedPositions returns learned positions initialised N(0, 0.02²).
func NewLearnedPositions(maxLen, dim int, rng *tensor.RNG) *LearnedPositions {
	p := &LearnedPositions{Weight: autograd.Param(tensor.New(maxLen, dim))}
	InitNormal(p.Weight, 0.02, rng)
	return p
}

// Forward returns x + W[offset : offset+T] for x [B, T, Dim].
func (p *LearnedPositions) Forward(x *autograd.Var, offset int) *autograd.Var {
	T := x.Value.Dim(-2)
	return autograd.Add(x, autograd.Slice(p.Weight, 0, offset, offset+T))
}

// Params returns the position table.
func (p *LearnedPositions) Params() []NamedParam { return []NamedParam{{"weight", p.Weight}} }

// Rotary is the rotary position embedding (RoPE, Su et al., 2021) applied to
// queries and keys: pairs of features rotate by position·θ_i with
// θ_i = Theta^(−2i/Dim).
//
// Two pairings exist. Hugging Face's Llama (the default here) pairs feature
// i with i + Dim/2 ("rotate_half"); Meta's original code and GPT-J pair
// neighbours 2i and 2i+1 (Interleaved). Checkpoints converted to HF permute
// their q/k rows so that the first layout reproduces the second.
type Rotary struct {
	Dim         int     // head dimension (even)
	Theta       float64 // base (Llama: 10000)
	Interleaved bool    // pair 2i with 2i+1 instead of i with i+Dim/2
	cos, sin    *tensor.Tensor
}

// NewRotary precomputes the rotation tables for maxLen positions.
func NewRotary(dim, maxLen int, theta float64, interleaved bool) *Rotary {
	r := &Rotary{Dim: dim, Theta: theta, Interleaved: interleaved, cos: tensor.New(maxLen, dim), sin: tensor.New(maxLen, dim)}
	c, s := r.cos.Data(), r.sin.Data()
	half := dim / 2
	for p := 0; p < maxLen; p++ {
		for i := 0; i < half; i++ {
			invFreq := 1 / math.Pow(theta, float64(2*i)/float64(dim))
			angle := float64(p) * float64(float32(invFreq)) // HF computes inv_freq in float32
			cv, sv := float32(math.Cos(angle)), float32(math.Sin(angle))
			if interleaved {
				c[p*dim+2*i], c[p*dim+2*i+1] = cv, cv
				s[p*dim+2*i], s[p*dim+2*i+1] = sv, sv
			} else {
				c[p*dim+i], c[p*dim+i+half] = cv, cv
				s[p*dim+i], s[p*dim+i+half] = sv, sv
			}
		}
	}
	return r
}

// Tables returns the cos and sin tables [maxLen, Dim] in the chosen layout.
func (r *Rotary) Tables() (cos, sin *tensor.Tensor) { return r.cos, r.sin }

// Apply rotates x [B, H, T, Dim] for positions offset … offset+T−1:
// x·cos + rot(x)·sin, where rot(x) = (−x₂, x₁) for the halves x₁, x₂ of
// the feature axis, or (−x_odd, x_even) interleaved.
func (r *Rotary) Apply(x *autograd.Var, offset int) *autograd.Var {
	sh := x.Value.Shape()
	T, D := sh[len(sh)-2], sh[len(sh)-1]
	cos := autograd.Const(r.cos.Slice(0, offset, offset+T))
	sin := autograd.Const(r.sin.Slice(0, offset, offset+T))
	var rot *autograd.Var
	if r.Interleaved {
		pairs := autograd.Reshape(autograd.Contiguous(x), append(sh[:len(sh)-1:len(sh)-1], D/2, 2)...)
		p := autograd.Split(pairs, -1, 1, 1) // even, odd: [..., D/2, 1]
		rot = autograd.Reshape(autograd.Concat(-1, autograd.Neg(p[1]), p[0]), sh...)
	} else {
		h := autograd.Split(x, -1, D/2, D/2)
		rot = autograd.Concat(-1, autograd.Neg(h[1]), h[0])
	}
	return autograd.Add(autograd.Mul(x, cos), autograd.Mul(rot, sin))
}

// SinusoidalTableHalves returns the same encodings laid out as fairseq,
// Marian and Hugging Face's MarianSinusoidalPositionalEmbedding store them,
// [maxLen, dim]: the sines of every frequency in the first ⌈dim/2⌉ columns,
// then the cosines. Column j < ⌈dim/2⌉ holds sin(p/10000^(2j/dim)) and column
// ⌈dim/2⌉+j holds cos(p/10000^(2j/dim)), computed in float64 and rounded.
func SinusoidalTableHalves(maxLen, dim int) *tensor.Tensor {
	t := tensor.New(maxLen, dim)
	d := t.Data()
	half := (dim + 1) / 2
	for p := 0; p < maxLen; p++ {
		row := d[p*dim : (p+1)*dim]
		for j := 0; j < dim; j++ {
			a := float64(p) / math.Pow(10000, float64(2*(j/2))/float64(dim))
			if j%2 == 0 {
				row[j/2] = float32(math.Sin(a))
			} else {
				row[half+j/2] = float32(math.Cos(a))
			}
		}
	}
	return t
}
