package optim

import "math"

// Schedule gives the learning rate for a step. Steps count from 0 (the first
// optimizer step uses Schedule(0)). Schedules are pure functions of the step,
// as in nanoGPT's get_lr, so resuming a run needs only the step number.
type Schedule func(step int) float32

// Constant returns a schedule that is lr at every step.
func Constant(lr float32) Schedule {
	return func(int) float32 { return lr }
}

// Decay chooses the shape of a schedule after its warm-up.
type Decay int

const (
	// DecayNone keeps the peak rate after warm-up.
	DecayNone Decay = iota
	// DecayLinear goes linearly from the peak rate to the minimum rate.
	DecayLinear
	// DecayCosine follows half a cosine from the peak rate to the minimum
	// rate: min + (peak−min)·(1 + cos(π·progress))/2.
	DecayCosine
)

// WarmupDecay describes a warm-up then decay schedule. The zero value of each
// field is documented; a zero WarmupDecay is a constant rate of 0.
type WarmupDecay struct {
	Peak float32 // learning rate reached at the end of warm-up
	Min  float32 // learning rate at and after TotalSteps (0: decay to 0)

	// WarmupSteps is the number of steps over which the rate rises linearly
	// from Peak/WarmupSteps (step 0) to Peak (step WarmupSteps−1), as nanoGPT
	// does; 0 means no warm-up.
	WarmupSteps int
	// TotalSteps is the step at which the decay reaches Min. It is ignored by
	// DecayNone; when TotalSteps <= WarmupSteps there is no decay phase and
	// the rate is Min after warm-up.
	TotalSteps int
	Decay      Decay // shape after warm-up (zero: DecayNone)
}

// Schedule returns the schedule as a function.
func (w WarmupDecay) Schedule() Schedule { return w.At }

// At returns the learning rate at step.
func (w WarmupDecay) At(step int) float32 {
	if step < 0 {
		step = 0
	}
	if step < w.WarmupSteps {
		return w.Peak * float32(step+1) / float32(w.WarmupSteps)
	}
	if w.Decay == DecayNone {
		return w.Peak
	}
	if step >= w.TotalSteps {
		return w.Min
	}
	progress := float64(step-w.WarmupSteps) / float64(w.TotalSteps-w.WarmupSteps)
	var coeff float64 // 1 at the start of the decay, 0 at its end
	switch w.Decay {
	case DecayLinear:
		coeff = 1 - progress
	case DecayCosine:
		coeff = 0.5 * (1 + math.Cos(math.Pi*progress))
	}
	return w.Min + float32(coeff)*(w.Peak-w.Min)
}
