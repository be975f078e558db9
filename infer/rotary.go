package infer

import (
	"fmt"
	"math"
)

// Rotary applies rotary position embeddings (Su et al., RoFormer) to heads
// of D features: the pair (a, b) of frequency i at position p becomes
// (a·cos θ − b·sin θ, b·cos θ + a·sin θ) with θ = p·base^(−2i/D).
//
// Two layouts pair the features differently. Llama in Hugging Face's layout
// (and GPT-NeoX) rotates halves: feature i pairs with i + D/2. Meta's
// original Llama, llama2.c and GPT-J rotate interleaved pairs (2i, 2i+1).
type Rotary struct {
	D           int  // features rotated per head (even)
	Interleaved bool // pairs (2i, 2i+1) rather than (i, i+D/2)
	cos, sin    []float32
}

// NewRotary returns the tables for positions [0, maxPos) with the given base
// (θ; Llama's rope_theta, 10000 by default).
func NewRotary(D, maxPos int, base float64, interleaved bool) *Rotary {
	if D <= 0 || D%2 != 0 || maxPos <= 0 {
		panic(fmt.Sprintf("infer: NewRotary: head dim %d must be even and positive, positions %d positive", D, maxPos))
	}
	half := D / 2
	r := &Rotary{D: D, Interleaved: interleaved, cos: make([]float32, maxPos*half), sin: make([]float32, maxPos*half)}
	for i := range half {
		// Hugging Face computes inv_freq in float32.
		inv := float64(float32(1 / math.Pow(base, float64(2*i)/float64(D))))
		for p := range maxPos {
			a := float64(p) * inv
			r.cos[p*half+i] = float32(math.Cos(a))
			r.sin[p*half+i] = float32(math.Sin(a))
		}
	}
	return r
}

// MaxPos reports the number of positions the tables cover.
func (r *Rotary) MaxPos() int { return len(r.cos) / (r.D / 2) }

// Apply rotates heads consecutive D-wide vectors of x, all at position pos.
func (r *Rotary) Apply(x []float32, heads, pos int) {
	half := r.D / 2
	cos, sin := r.cos[pos*half:(pos+1)*half], r.sin[pos*half:(pos+1)*half]
	for h := range heads {
		v := x[h*r.D : (h+1)*r.D]
		if r.Interleaved {
			for i, c := range cos {
				a, b, s := v[2*i], v[2*i+1], sin[i]
				v[2*i] = a*c - b*s
				v[2*i+1] = b*c + a*s
			}
			continue
		}
		x1, x2 := v[:half], v[half:]
		for i, c := range cos {
			a, b, s := x1[i], x2[i], sin[i]
			x1[i] = a*c - b*s
			x2[i] = b*c + a*s
		}
	}
}

// Tables returns the cos and sin tables [MaxPos, D] in the layout's own
// pairing, as Hugging Face builds them: half-split rows repeat the D/2
// angles twice, interleaved rows repeat each angle for its pair. They are
// copies, for comparison with a reference.
func (r *Rotary) Tables() (cos, sin []float32) {
	half, P := r.D/2, r.MaxPos()
	cos, sin = make([]float32, P*r.D), make([]float32, P*r.D)
	for p := range P {
		for i := range half {
			c, s := r.cos[p*half+i], r.sin[p*half+i]
			a, b := i, i+half
			if r.Interleaved {
				a, b = 2*i, 2*i+1
			}
			cos[p*r.D+a], cos[p*r.D+b] = c, c
			sin[p*r.D+a], sin[p*r.D+b] = s, s
		}
	}
	return cos, sin
}
