package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/optim"
)

// lineTask is the smallest Task with everything a real one has to resume:
// it fits y = a·x + b to examples of y = 3x − 1 (plus fixed noise) drawn
// in a seeded per-epoch order, and perturbs every micro-batch's
// predictions with noise seeded by StepSeed from the number of examples
// drawn before (as dropout would, and the same however the examples are cut
// into micro-batches). Its resumable state is the order's position; its
// weights go through Save and LoadWeights.
type lineTask struct {
	w, g   []float32 // [a, b] and their gradient
	xs, ys []float64
	eval   []int // held-out example indices
	B      int
	seed   uint64
	order  []int
	epoch  int
	pos    int // examples of the epoch drawn
	drawn  int // examples drawn in all
}

func newLineTask(modelSeed, dataSeed uint64, B int) *lineTask {
	r := rand.New(rand.NewPCG(modelSeed, 0))
	t := &lineTask{w: []float32{float32(r.NormFloat64()), float32(r.NormFloat64())}, g: make([]float32, 2),
		B: B, seed: dataSeed}
	noise := rand.New(rand.NewPCG(11, 12))
	for i := range 64 {
		x := float64(i)/32 - 1
		t.xs, t.ys = append(t.xs, x), append(t.ys, 3*x-1+0.1*noise.NormFloat64())
	}
	t.eval = []int{5, 17, 33, 50}
	t.shuffle()
	return t
}

func (t *lineTask) shuffle() {
	t.order = rand.New(rand.NewPCG(t.seed, uint64(t.epoch))).Perm(len(t.xs))
}

func (t *lineTask) Params() []optim.Param {
	return []optim.Param{{Name: "line.weight", Shape: []int{1, 2}, Value: t.w, Grad: t.g}}
}

func (t *lineTask) Step(ctx context.Context) (float64, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	var loss float64
	for range t.B {
		if t.pos == len(t.order) {
			t.epoch, t.pos = t.epoch+1, 0
			t.shuffle()
		}
		i := t.order[t.pos]
		t.pos++
		noise := rand.New(rand.NewPCG(StepSeed(t.seed, t.drawn, StreamDropout), 0))
		t.drawn++
		d := float64(t.w[0])*t.xs[i] + float64(t.w[1]) + 0.01*noise.NormFloat64() - t.ys[i]
		loss += d * d / float64(t.B)
		t.g[0] += float32(2 * d * t.xs[i] / float64(t.B))
		t.g[1] += float32(2 * d / float64(t.B))
	}
	return loss, t.B, nil
}

func (t *lineTask) Evaluate(ctx context.Context) (Eval, error) {
	var loss float64
	for _, i := range t.eval {
		d := float64(t.w[0])*t.xs[i] + float64(t.w[1]) - t.ys[i]
		loss += d * d / float64(len(t.eval))
	}
	return Eval{Loss: loss, Metrics: map[string]float64{"slope": float64(t.w[0])}}, nil
}

func (t *lineTask) Save(dir string) error {
	return checkpoint.Save(filepath.Join(dir, "model.safetensors"),
		[]checkpoint.Tensor{{Name: "line.weight", Shape: []int{1, 2}, Data: t.w}}, nil)
}

func (t *lineTask) LoadWeights(dir string) error {
	f, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := f.Float32("line.weight")
	if err != nil {
		return err
	}
	copy(t.w, w)
	return nil
}

type lineState struct {
	Seed  uint64 `json:"seed"`
	Epoch int    `json:"epoch"`
	Pos   int    `json:"pos"`
	Drawn int    `json:"drawn"`
}

func (t *lineTask) State() (json.RawMessage, error) {
	return json.Marshal(lineState{Seed: t.seed, Epoch: t.epoch, Pos: t.pos, Drawn: t.drawn})
}

func (t *lineTask) SetState(b json.RawMessage) error {
	var st lineState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if st.Seed != t.seed {
		return fmt.Errorf("line state: seed %d, this run has %d", st.Seed, t.seed)
	}
	t.epoch, t.pos, t.drawn = st.Epoch, st.Pos, st.Drawn
	t.shuffle()
	return nil
}

var _ interface {
	Task
	WeightLoader
} = (*lineTask)(nil)
