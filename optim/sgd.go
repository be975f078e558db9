package optim

// SGDConfig holds SGD's hyper-parameters, as torch.optim.SGD's arguments.
type SGDConfig struct {
	LR        float32 // learning rate
	Momentum  float32 // momentum factor (zero: plain SGD)
	Dampening float32 // dampening of the momentum (zero: none)
	Nesterov  bool    // Nesterov momentum (needs Momentum > 0 and Dampening 0)
}

// SGD is stochastic gradient descent with optional momentum and L2 weight
// decay, with torch.optim.SGD's semantics. For each parameter p with
// gradient g and its group's weight decay wd:
//
//	g = g + wd·p
//	b = g                         on the first step
//	b = momentum·b + (1−dampening)·g   afterwards
//	g = g + momentum·b (Nesterov) or g = b
//	p = p − lr·g
//
// With Momentum 0 it is p = p − lr·(g + wd·p).
type SGD struct {
	cfg   SGDConfig
	slots []slot
	step  int
}

var _ Optimizer = (*SGD)(nil)

// NewSGD returns an SGD optimizer over groups.
func NewSGD(groups []Group, cfg SGDConfig) (*SGD, error) {
	if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
		return nil, errorf("sgd: Nesterov momentum needs Momentum > 0 and Dampening 0")
	}
	if cfg.LR < 0 || cfg.Momentum < 0 {
		return nil, errorf("sgd: negative learning rate %g or momentum %g", cfg.LR, cfg.Momentum)
	}
	nbuf := 0
	if cfg.Momentum != 0 {
		nbuf = 1
	}
	slots, err := flatten("sgd", groups, nbuf)
	if err != nil {
		return nil, err
	}
	return &SGD{cfg: cfg, slots: slots}, nil
}

// Step applies one update to every parameter that has a gradient.
func (o *SGD) Step() {
	first := o.step == 0
	for i := range o.slots {
		s := &o.slots[i]
		g := s.grad()
		if g == nil {
			continue
		}
		var buf []float32
		if len(s.bufs) > 0 {
			buf = s.bufs[0]
		}
		sgdUpdate(s.data(), g, buf, o.cfg.LR, o.cfg.Momentum, o.cfg.Dampening, s.weightDecay, o.cfg.Nesterov, first)
	}
	o.step++
}

// ZeroGrad clears every parameter's gradient.
func (o *SGD) ZeroGrad() { zeroGrad(o.slots) }

// SetLR sets the learning rate of the following steps.
func (o *SGD) SetLR(lr float32) { o.cfg.LR = lr }

// LR returns the current learning rate.
func (o *SGD) LR() float32 { return o.cfg.LR }

// Params lists the parameters, group by group.
func (o *SGD) Params() []Param { return params(o.slots) }

// Steps returns the number of steps taken.
func (o *SGD) Steps() int { return o.step }

var sgdBuffers = []string{"momentum_buffer"}

// State returns a copy of the step counter and momentum buffers.
func (o *SGD) State() State { return exportState(o.step, o.slots, sgdBuffers) }

// LoadState restores a state from State.
func (o *SGD) LoadState(st State) error {
	if err := importState("sgd", st, o.slots, sgdBuffers); err != nil {
		return err
	}
	o.step = st.Step
	return nil
}
