package optim

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/kernels"
)

// AdamConfig holds Adam's hyper-parameters, as torch.optim.Adam(W)'s
// arguments. Weight decay is per group (Group.WeightDecay).
type AdamConfig struct {
	LR    float32 // learning rate
	Beta1 float32 // decay of the first moment (zero: 0.9)
	Beta2 float32 // decay of the second moment (zero: 0.999)
	Eps   float32 // added to the denominator (zero: 1e-8)
}

func (c AdamConfig) withDefaults() AdamConfig {
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	return c
}

// Adam is the Adam optimizer (Kingma & Ba, 2015) and, built by NewAdamW, its
// decoupled-weight-decay variant AdamW (Loshchilov & Hutter, 2019), with
// torch.optim's semantics. At step t (from 1), for each parameter p with
// gradient g and its group's weight decay wd:
//
//	p = p − lr·wd·p               (AdamW: decoupled decay, applied first)
//	g = g + wd·p                  (Adam: L2 decay folded into the gradient)
//	m = β1·m + (1−β1)·g
//	v = β2·v + (1−β2)·g²
//	p = p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
//
// Note that eps is added after the bias correction of sqrt(v), as PyTorch
// does (not to sqrt(v̂) in the paper's order).
type Adam struct {
	cfg       AdamConfig
	decoupled bool
	slots     []slot  // bufs[0] = m (exp_avg), bufs[1] = v (exp_avg_sq)
	pieces    []piece // the work of one step, in parameter order
	step      int
}

// piece is a range of one parameter's values updated as one unit of work.
type piece struct {
	slot   int
	lo, hi int
}

// pieceSize bounds the values updated as one unit of parallel work.
const pieceSize = 1 << 15

var _ Optimizer = (*Adam)(nil)

// NewAdam returns torch.optim.Adam over groups (L2 weight decay).
func NewAdam(groups []Group, cfg AdamConfig) (*Adam, error) {
	return newAdam("adam", groups, cfg, false)
}

// NewAdamW returns torch.optim.AdamW over groups (decoupled weight decay).
func NewAdamW(groups []Group, cfg AdamConfig) (*Adam, error) {
	return newAdam("adamw", groups, cfg, true)
}

func newAdam(kind string, groups []Group, cfg AdamConfig, decoupled bool) (*Adam, error) {
	cfg = cfg.withDefaults()
	if cfg.LR < 0 || cfg.Eps < 0 || cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1 {
		return nil, errorf("%s: invalid hyper-parameters lr %g betas (%g, %g) eps %g", kind, cfg.LR, cfg.Beta1, cfg.Beta2, cfg.Eps)
	}
	slots, err := flatten(kind, groups, 2)
	if err != nil {
		return nil, err
	}
	o := &Adam{cfg: cfg, decoupled: decoupled, slots: slots}
	for i := range slots {
		n := len(slots[i].bufs[0])
		for lo := 0; lo < n; lo += pieceSize {
			o.pieces = append(o.pieces, piece{i, lo, min(lo+pieceSize, n)})
		}
	}
	return o, nil
}

// Step applies one update to every parameter that has a gradient. Large
// parameters are cut into pieces that kernels.ParallelFor's workers share.
func (o *Adam) Step() {
	o.step++
	t := float64(o.step)
	bc1 := float32(1 - math.Pow(float64(o.cfg.Beta1), t))
	bc2 := float32(1 - math.Pow(float64(o.cfg.Beta2), t))
	c := o.cfg
	kernels.ParallelFor(len(o.pieces), 1, func(lo, hi int) {
		for _, pc := range o.pieces[lo:hi] {
			s := &o.slots[pc.slot]
			g := s.grad()
			if g == nil {
				continue
			}
			p, g := s.data()[pc.lo:pc.hi], g[pc.lo:pc.hi]
			m, v := s.bufs[0][pc.lo:pc.hi], s.bufs[1][pc.lo:pc.hi]
			if o.decoupled {
				kernels.AdamW(p, g, m, v, c.LR, c.Beta1, c.Beta2, c.Eps, s.weightDecay, bc1, bc2)
			} else {
				adamUpdate(p, g, m, v, c.LR, c.Beta1, c.Beta2, c.Eps, s.weightDecay, bc1, bc2)
			}
		}
	})
}

// ZeroGrad clears every parameter's gradient.
func (o *Adam) ZeroGrad() { zeroGrad(o.slots) }

// SetLR sets the learning rate of the following steps.
func (o *Adam) SetLR(lr float32) { o.cfg.LR = lr }

// LR returns the current learning rate.
func (o *Adam) LR() float32 { return o.cfg.LR }

// Params lists the parameters, group by group.
func (o *Adam) Params() []Param { return params(o.slots) }

// Steps returns the number of steps taken.
func (o *Adam) Steps() int { return o.step }

// Moments returns the first and second moment buffers of the named
// parameter (aliasing the optimizer's state), or nil if there is none.
func (o *Adam) Moments(name string) (m, v []float32) {
	for i := range o.slots {
		if o.slots[i].p.Name == name {
			return o.slots[i].bufs[0], o.slots[i].bufs[1]
		}
	}
	return nil, nil
}

var adamBuffers = []string{"exp_avg", "exp_avg_sq"}

// State returns a copy of the step counter and both moments of every
// parameter.
func (o *Adam) State() State { return exportState(o.step, o.slots, adamBuffers) }

// LoadState restores a state from State.
func (o *Adam) LoadState(st State) error {
	if err := importState(o.kind(), st, o.slots, adamBuffers); err != nil {
		return err
	}
	o.step = st.Step
	return nil
}

func (o *Adam) kind() string {
	if o.decoupled {
		return "adamw"
	}
	return "adam"
}

func errorf(format string, args ...any) error { return fmt.Errorf("optim: "+format, args...) }
