package tensor

import (
	"math"
	"math/rand/v2"
)

// RNG is a seedable source of random tensors, wrapping math/rand/v2's PCG
// generator: the same seed gives the same stream on every platform. An RNG is
// not safe for concurrent use; give each goroutine its own.
type RNG struct {
	src *rand.PCG
	r   *rand.Rand
}

// NewRNG returns an RNG seeded with seed.
func NewRNG(seed uint64) *RNG {
	src := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	return &RNG{src: src, r: rand.New(src)}
}

// Seed resets the stream as if the RNG had been created with NewRNG(seed).
func (g *RNG) Seed(seed uint64) { g.src.Seed(seed, seed^0x9e3779b97f4a7c15) }

// Rand exposes the underlying *rand.Rand (for sampling code that wants its
// full API); it shares the RNG's state.
func (g *RNG) Rand() *rand.Rand { return g.r }

// Float32 returns a uniform value in [0, 1).
func (g *RNG) Float32() float32 { return g.r.Float32() }

// Float64 returns a uniform value in [0, 1).
func (g *RNG) Float64() float64 { return g.r.Float64() }

// IntN returns a uniform value in [0, n); it panics if n <= 0.
func (g *RNG) IntN(n int) int { return g.r.IntN(n) }

// NormFloat64 returns a standard normal value.
func (g *RNG) NormFloat64() float64 { return g.r.NormFloat64() }

// Perm returns a random permutation of [0, n).
func (g *RNG) Perm(n int) []int { return g.r.Perm(n) }

// Shuffle permutes n items with swap, like rand.Shuffle.
func (g *RNG) Shuffle(n int, swap func(i, j int)) { g.r.Shuffle(n, swap) }

// Normal fills t with samples of N(mean, std²).
func (g *RNG) Normal(t *Tensor, mean, std float32) {
	g.fill(t, func() float32 { return mean + std*float32(g.r.NormFloat64()) })
}

// Uniform fills t with samples of U[lo, hi).
func (g *RNG) Uniform(t *Tensor, lo, hi float32) {
	g.fill(t, func() float32 { return lo + (hi-lo)*g.r.Float32() })
}

// TruncNormal fills t with samples of N(mean, std²) truncated to [a, b],
// with the semantics of torch.nn.init.trunc_normal_: a and b are absolute
// bounds (not multiples of std), and sampling inverts the normal CDF over
// the truncated range.
func (g *RNG) TruncNormal(t *Tensor, mean, std, a, b float32) {
	cdf := func(x float64) float64 { return 0.5 * (1 + math.Erf(x/math.Sqrt2)) }
	l := cdf((float64(a) - float64(mean)) / float64(std))
	u := cdf((float64(b) - float64(mean)) / float64(std))
	g.fill(t, func() float32 {
		p := 2*l - 1 + (2*u-2*l)*g.r.Float64()
		v := math.Erfinv(p)*float64(std)*math.Sqrt2 + float64(mean)
		return float32(min(max(v, float64(a)), float64(b)))
	})
}

// Bernoulli fills t with 1 where a uniform draw is below p and 0 elsewhere.
func (g *RNG) Bernoulli(t *Tensor, p float32) {
	g.fill(t, func() float32 {
		if g.r.Float32() < p {
			return 1
		}
		return 0
	})
}

// DropoutMask fills mask with 0 (probability p) or 1/(1−p) (probability
// 1−p), the multiplier inverted dropout applies. p must be in [0, 1).
// Element i is 0 exactly when the i-th Float32 draw is below p: the mask
// consumes the stream as that loop would, but reads the 24 bits Float32
// uses straight from the generator, without the interface call per draw.
func (g *RNG) DropoutMask(mask []float32, p float32) {
	scale := 1 / (1 - p)
	// Float32 is u/2²⁴ for the 24-bit u below; u/2²⁴ < p ⇔ u < p·2²⁴, both
	// sides exact in float32.
	thr := p * (1 << 24)
	for i := range mask {
		u := uint32(g.src.Uint64()>>32) << 8 >> 8
		if float32(u) < thr {
			mask[i] = 0
		} else {
			mask[i] = scale
		}
	}
}

// Randn returns a new tensor of standard normal samples.
func (g *RNG) Randn(shape ...int) *Tensor {
	t := New(shape...)
	g.Normal(t, 0, 1)
	return t
}

// RandUniform returns a new tensor of U[0, 1) samples.
func (g *RNG) RandUniform(shape ...int) *Tensor {
	t := New(shape...)
	g.Uniform(t, 0, 1)
	return t
}

// fill sets every element of t in row-major order from next.
func (g *RNG) fill(t *Tensor, next func() float32) {
	if t.IsContiguous() {
		d := t.Data()
		for i := range d {
			d[i] = next()
		}
		return
	}
	forEachOffset(t, func(off int) { t.data[off] = next() })
}
