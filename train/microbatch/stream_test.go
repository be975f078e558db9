package microbatch

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

func newTestStream(t *testing.T, n, size int, seed uint64) *Stream[int] {
	t.Helper()
	ex := make([]int, n)
	for i := range ex {
		ex[i] = 100 + i
	}
	s, err := data.NewIndexSampler(n, seed)
	if err != nil {
		t.Fatal(err)
	}
	return NewStream(ex, s, size, seed)
}

// TestStreamResume draws micro-batches, saves the state, and checks that a
// fresh stream restored from it continues with the same batches and seeds,
// and that every example comes once per epoch.
func TestStreamResume(t *testing.T) {
	a := newTestStream(t, 10, 4, 7)
	seen := map[int]int{}
	for range 5 { // two epochs of 10 examples
		b, seeds := a.Next(train.StreamDropout, 9)
		for _, e := range b {
			seen[e]++
		}
		if seeds[0] == seeds[1] {
			t.Fatalf("two streams share a seed: %v", seeds)
		}
	}
	for e := 100; e < 110; e++ {
		if seen[e] != 2 {
			t.Errorf("example %d drawn %d times in two epochs, want 2", e, seen[e])
		}
	}
	st, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	var parsed map[string]any
	if err := json.Unmarshal(st, &parsed); err != nil {
		t.Fatal(err)
	}
	if got := string(st); got != `{"seed":7,"micro_batches":5,"sampler":{"epoch":1,"index":10}}` {
		t.Errorf("state %s: the checkpoint format changed", got)
	}
	b := newTestStream(t, 10, 4, 7)
	if err := b.SetState(st, "test"); err != nil {
		t.Fatal(err)
	}
	if b.Drawn() != 5 {
		t.Errorf("Drawn() = %d after restoring, want 5", b.Drawn())
	}
	for i := range 4 {
		ba, sa := a.Next(train.StreamDropout)
		bb, sb := b.Next(train.StreamDropout)
		if !slices.Equal(ba, bb) || !slices.Equal(sa, sb) {
			t.Fatalf("micro-batch %d after resume: %v %v, want %v %v", i, bb, sb, ba, sa)
		}
		if sa[0] != train.StepSeed(7, 5+i, train.StreamDropout) {
			t.Errorf("micro-batch %d: seed %d, want StepSeed(7, %d, dropout)", i, sa[0], 5+i)
		}
	}
}

func TestStreamBadState(t *testing.T) {
	for _, tc := range []struct{ name, state, want string }{
		{"not JSON", `{"seed":`, "test state"},
		{"other seed", `{"seed":8,"micro_batches":1,"sampler":{"epoch":0,"index":4}}`, "seed 8"},
		{"negative count", `{"seed":7,"micro_batches":-1,"sampler":{"epoch":0,"index":4}}`, "-1 micro-batches"},
		{"sampler past the end", `{"seed":7,"micro_batches":1,"sampler":{"epoch":0,"index":11}}`, "sampler state"},
	} {
		s := newTestStream(t, 10, 4, 7)
		err := s.SetState(json.RawMessage(tc.state), "test")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
		if s.Drawn() != 0 {
			t.Errorf("%s: a rejected state moved the stream", tc.name)
		}
	}
}

// TestLearnerStep checks Step's contract: the dropout generator is seeded
// per micro-batch, the loss is back-propagated, a nil loss adds no
// gradient, and a cancelled context draws nothing.
func TestLearnerStep(t *testing.T) {
	w := autograd.NewVar(vec(2), true)
	l := NewLearner(newTestStream(t, 10, 2, 3), []nn.NamedParam{{Name: "w", Var: w}}, LearnerOptions{})
	var draws []float32
	forward := func(batch []int, seeds []uint64) (*autograd.Var, int, error) {
		if len(seeds) != 1 {
			t.Fatalf("%d extra seeds, want 1", len(seeds))
		}
		draws = append(draws, l.Dropout.Float32())
		x := autograd.NewVar(vec(float32(batch[0]+batch[1])), false)
		return autograd.SumAll(autograd.Mul(w, x)), 7, nil
	}
	loss, tokens, err := l.Step(context.Background(), forward, 5)
	if err != nil || tokens != 7 {
		t.Fatalf("Step: %v tokens, %v", tokens, err)
	}
	if g := l.Params()[0].Grad[0]; float64(g)*2 != loss {
		t.Errorf("gradient %v for loss %v = 2·x", g, loss)
	}
	if want := tensor.NewRNG(train.StepSeed(3, 0, train.StreamDropout)).Float32(); draws[0] != want {
		t.Errorf("dropout draw %v, want %v (seeded by StepSeed)", draws[0], want)
	}
	before := l.Params()[0].Grad[0]
	if loss, tokens, err := l.Step(context.Background(), func([]int, []uint64) (*autograd.Var, int, error) { return nil, 3, nil }); loss != 0 || tokens != 3 || err != nil {
		t.Errorf("nil loss: %v, %v, %v", loss, tokens, err)
	}
	if l.Params()[0].Grad[0] != before {
		t.Error("a nil loss changed the gradient")
	}
	boom := errors.New("boom")
	if _, _, err := l.Step(context.Background(), func([]int, []uint64) (*autograd.Var, int, error) { return nil, 0, boom }); !errors.Is(err, boom) {
		t.Errorf("forward error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	drawn := l.Data.Drawn()
	if _, _, err := l.Step(ctx, forward); !errors.Is(err, context.Canceled) || l.Data.Drawn() != drawn {
		t.Errorf("cancelled: err %v, drawn %d → %d", err, drawn, l.Data.Drawn())
	}
}

// vec is a one-element tensor holding v.
func vec(v float32) *tensor.Tensor {
	t, err := tensor.FromData([]float32{v}, 1)
	if err != nil {
		panic(err)
	}
	return t
}

func TestTokens(t *testing.T) {
	if n := Tokens([]int32{1, 1, 0, 1, 0}); n != 3 {
		t.Errorf("Tokens = %d, want 3", n)
	}
}

func FuzzStreamSetState(f *testing.F) {
	f.Add([]byte(`{"seed":7,"micro_batches":5,"sampler":{"epoch":1,"index":10}}`))
	f.Add([]byte(`{"seed":7,"micro_batches":1e9,"sampler":{"epoch":-1,"index":3}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newTestStream(t, 10, 4, 7)
		if err := s.SetState(b, "fuzz"); err != nil {
			return
		}
		s.Next(train.StreamDropout) // a state that is accepted must be usable
	})
}
