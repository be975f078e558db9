// Package optim holds the optimizers that train Glossa's models — SGD with
// momentum, Adam and AdamW with PyTorch's exact semantics — together with
// learning-rate schedules, global gradient-norm clipping and gradient
// accumulation.
//
// An optimizer owns per-parameter state (moments, momentum buffers) and a
// step counter. Parameters come in groups that share a weight decay, as
// torch.optim's param_groups; DecayGroups builds the usual split (decay on
// matrices and embeddings, none on biases and norm gains). A training step
// reads:
//
//	loss := model.Loss(batch)              // builds the autograd graph
//	autograd.Backward(loss)                // fills every parameter's Grad
//	norm := optim.ClipGradNorm(params, 1)  // optional
//	opt.SetLR(schedule(step))              // optional
//	opt.Step()                             // update, then
//	opt.ZeroGrad()
//
// The update rules are spelled out on each type and follow torch.optim's
// single-tensor code paths, so a model trained here and one trained with
// PyTorch from the same weights and batches agree to float32 rounding (the
// GPT-2 training golden in ../shared/fixtures checks three AdamW steps).
//
// State (moments and the step counter) can be exported as named float32
// slices and imported again, so that checkpoints resume exactly.
package optim

import (
	"fmt"
	"math"

	"github.com/glossa-ai/glossa/kernels"
)

// Param is one named parameter as an optimizer sees it: flat float32 views
// of its values and its gradient. Name keys the optimizer's state (use the
// model's HF-style dotted names). The optimizer updates Value in place and
// reads Grad (ClipGradNorm and Accumulator scale it); both slices must stay
// valid, with the same backing arrays, for the optimizer's lifetime. A nil
// Grad means the parameter is frozen: steps skip it.
type Param struct {
	Name  string    // parameter name, used to key State buffers
	Shape []int     // dimensions (DecayGroups decays when len(Shape) >= 2)
	Value []float32 // len = product of Shape
	Grad  []float32 // same length as Value, or nil
}

// Group is a set of parameters that share hyper-parameters, like one entry
// of torch.optim's param_groups.
type Group struct {
	Params      []Param // the parameters the group's settings apply to
	WeightDecay float32 // weight decay for this group (zero: none)
}

// DecayGroups splits params into the two groups that GPT-style training
// uses: weight decay wd on parameters with two or more dimensions (matrices
// and embeddings) and no decay on 1-D ones (biases, norm gains). Parameter
// order is kept within each group.
func DecayGroups(params []Param, wd float32) []Group {
	decay := Group{WeightDecay: wd}
	noDecay := Group{}
	for _, p := range params {
		if len(p.Shape) >= 2 {
			decay.Params = append(decay.Params, p)
		} else {
			noDecay.Params = append(noDecay.Params, p)
		}
	}
	return []Group{decay, noDecay}
}

// Optimizer is the interface common to SGD and Adam.
type Optimizer interface {
	// Step updates every parameter that has a gradient and advances the
	// step counter.
	Step()
	// ZeroGrad clears every parameter's gradient.
	ZeroGrad()
	// SetLR sets the learning rate used by the following steps.
	SetLR(lr float32)
	// LR returns the current learning rate.
	LR() float32
	// Params lists every parameter, group by group.
	Params() []Param
	// State returns a copy of the optimizer state for a checkpoint.
	State() State
	// LoadState restores a state returned by State.
	LoadState(State) error
}

// State is an optimizer's resumable state: the number of steps taken and the
// per-parameter buffers, keyed "<param name>.<buffer>" (buffers exp_avg and
// exp_avg_sq for Adam, momentum_buffer for SGD, named as in torch.optim's
// state_dict). Slices are copies owned by the State.
type State struct {
	Step    int                  // optimizer steps taken so far
	Buffers map[string][]float32 // per-parameter buffers, keyed "<param name>.<buffer>"
}

// slot is one parameter with its optimizer buffers.
type slot struct {
	p           Param
	weightDecay float32
	bufs        [][]float32 // optimizer-specific, each len(values)
}

// flatten lists the slots of groups, checking names are unique and set.
func flatten(kind string, groups []Group, nbuf int) ([]slot, error) {
	seen := map[string]bool{}
	var slots []slot
	for _, g := range groups {
		for _, p := range g.Params {
			if p.Grad != nil && len(p.Grad) != len(p.Value) {
				return nil, fmt.Errorf("optim: %s: parameter %q has %d values but %d gradients", kind, p.Name, len(p.Value), len(p.Grad))
			}
			if p.Name == "" || seen[p.Name] {
				return nil, fmt.Errorf("optim: %s: parameter name %q is empty or repeated", kind, p.Name)
			}
			seen[p.Name] = true
			n := len(p.Value)
			s := slot{p: p, weightDecay: g.WeightDecay, bufs: make([][]float32, nbuf)}
			for i := range s.bufs {
				s.bufs[i] = make([]float32, n)
			}
			slots = append(slots, s)
		}
	}
	return slots, nil
}

// data returns the parameter's values.
func (s *slot) data() []float32 { return s.p.Value }

// grad returns the parameter's gradient, or nil when it has none.
func (s *slot) grad() []float32 { return s.p.Grad }

func params(slots []slot) []Param {
	ps := make([]Param, len(slots))
	for i := range slots {
		ps[i] = slots[i].p
	}
	return ps
}

func zeroGrad(slots []slot) {
	for i := range slots {
		if g := slots[i].grad(); g != nil {
			clear(g)
		}
	}
}

// exportState copies the buffers of slots under their names.
func exportState(step int, slots []slot, names []string) State {
	st := State{Step: step, Buffers: make(map[string][]float32, len(slots)*len(names))}
	for _, s := range slots {
		for i, b := range s.bufs {
			st.Buffers[s.p.Name+"."+names[i]] = append([]float32(nil), b...)
		}
	}
	return st
}

// importState checks and copies st's buffers into slots.
func importState(kind string, st State, slots []slot, names []string) error {
	if st.Step < 0 {
		return fmt.Errorf("optim: %s: load state: negative step %d", kind, st.Step)
	}
	for _, s := range slots {
		for i, b := range s.bufs {
			key := s.p.Name + "." + names[i]
			src, ok := st.Buffers[key]
			if !ok {
				if st.Step == 0 {
					continue
				}
				return fmt.Errorf("optim: %s: load state: missing buffer %q", kind, key)
			}
			if len(src) != len(b) {
				return fmt.Errorf("optim: %s: load state: buffer %q has %d values, want %d", kind, key, len(src), len(b))
			}
		}
	}
	for _, s := range slots {
		for i, b := range s.bufs {
			if src, ok := st.Buffers[s.p.Name+"."+names[i]]; ok {
				copy(b, src)
			} else {
				clear(b)
			}
		}
	}
	return nil
}

// ClipGradNorm scales all gradients of params so that their global L2 norm
// (the norm of the concatenation of every gradient) is at most maxNorm, and
// returns the norm before clipping, as torch.nn.utils.clip_grad_norm_: the
// scale is maxNorm/(norm+1e-6), applied only when below 1. Parameters
// without a gradient are skipped. maxNorm <= 0 or +Inf only measures.
func ClipGradNorm(params []Param, maxNorm float64) float64 {
	var ss float64
	for _, p := range params {
		if g := p.Grad; g != nil {
			ss += sumSquares(g)
		}
	}
	norm := math.Sqrt(ss)
	if maxNorm <= 0 || math.IsInf(maxNorm, 1) {
		return norm
	}
	coef := maxNorm / (norm + 1e-6)
	if coef < 1 {
		for _, p := range params {
			if g := p.Grad; g != nil {
				kernels.Scale(float32(coef), g)
			}
		}
	}
	return norm
}

// GradNorm returns the global L2 norm of the gradients of params.
func GradNorm(params []Param) float64 { return ClipGradNorm(params, 0) }

// Accumulator implements gradient accumulation: the gradients of Every
// micro-batches are summed by successive Backward calls, then averaged and
// applied as one optimizer step. Call Micro after each micro-batch's
// Backward; it steps (and zeroes the gradients) on every Every-th call.
// With mean losses per micro-batch, the result equals one step on the union
// of the micro-batches. A zero Every means 1 (no accumulation).
type Accumulator struct {
	Every int // micro-batches per optimizer step (zero: 1)
	// Clip, when positive, clips the averaged gradients to this global norm
	// before each step.
	Clip float64

	n int // micro-batches accumulated since the last step
}

// Micro records one micro-batch whose gradients are in the parameters of
// opt. When it completes a group of Every, it scales the gradients by
// 1/Every, clips them if asked, steps opt, zeroes the gradients and returns
// true with the (pre-clip) global gradient norm; otherwise it returns false.
func (a *Accumulator) Micro(opt Optimizer) (stepped bool, norm float64) {
	every := max(a.Every, 1)
	a.n++
	if a.n < every {
		return false, 0
	}
	a.n = 0
	ps := opt.Params()
	if every > 1 {
		inv := 1 / float32(every)
		for _, p := range ps {
			if g := p.Grad; g != nil {
				kernels.Scale(inv, g)
			}
		}
	}
	norm = ClipGradNorm(ps, a.Clip)
	opt.Step()
	opt.ZeroGrad()
	return true, norm
}

// Pending returns how many micro-batches have been accumulated since the
// last step.
func (a *Accumulator) Pending() int { return a.n }
