package bert

import (
	"fmt"
	"slices"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// Every trainable class beyond BertModel is a base Model plus a head: a
// few modules under their state_dict names, a Forward and a Loss. A class
// says once, in its layout method, what it is and holds; the embedded
// headed turns that into Params, SetTraining, Save and Encoder, and
// newInit and loadFolder into its New and Load. Adding a head is its
// struct, its layout, a Forward and a Loss.

// layout is what a model class is and holds.
type layout struct {
	suffix   string        // the Hugging Face class after the variant's prefix: "ForQuestionAnswering"
	variants []Variant     // the variants it builds and loads
	heads    Heads         // the heads its Encoder runs (zero: those its tensors hold)
	base     *Model        // the encoder, under the variant's prefix (bert.*, electra.*)
	parts    []part        // the head's modules, in state_dict order
	dropouts []*nn.Dropout // the head's own dropouts
}

// part is a module under its state_dict prefix.
type part struct {
	prefix string
	m      nn.Module
}

// param is one parameter as a module, named by its part's prefix.
type param struct{ v *autograd.Var }

// Params returns the parameter, unnamed.
func (p param) Params() []nn.NamedParam { return []nn.NamedParam{{Var: p.v}} }

// laidOut is a model that describes itself: *Model and every head.
type laidOut interface {
	nn.Module
	layout() layout
}

// headed is embedded in each model with a head and gives it the methods
// its layout defines. self is the model itself.
type headed struct{ self laidOut }

// Params lists every parameter under its state_dict name: the base model's
// under the variant's prefix (bert.*, electra.*), then the head's. A tied
// weight (a masked-LM decoder is the word embedding) is listed once.
func (h headed) Params() []nn.NamedParam {
	l := h.self.layout()
	return append(prefixed(l.base.Config.Variant.names().base, l.base.Params()), collect(l.parts)...)
}

// SetTraining switches dropout on or off (see Model.SetTraining).
func (h headed) SetTraining(on bool, rng *tensor.RNG) {
	l := h.self.layout()
	l.base.SetTraining(on, rng)
	for _, d := range l.dropouts {
		d.Training, d.RNG = on, rng
	}
}

// Save writes a folder of the model's Hugging Face class (config.json with
// its architecture, and model.safetensors); tied weights are stored once,
// as save_pretrained stores them.
func (h headed) Save(dir string) error {
	l := h.self.layout()
	return save(dir, l.base.Config, l.base.Config.Variant.names().class+l.suffix, h.Params())
}

// Encoder returns an Encoder of the model's current weights (see
// Model.Encoder) with the class's heads, or opts.Heads when it is set.
func (h headed) Encoder(opts *EncoderOptions) (*Encoder, error) {
	l := h.self.layout()
	o := EncoderOptions{Heads: l.heads}
	if opts != nil {
		o.Format = opts.Format
		if opts.Heads != 0 {
			o.Heads = opts.Heads
		}
	}
	return encoderOf(l.base.Config, h, &o)
}

// build validates cfg, filling in its defaults, and returns the zeroed
// model that newM makes of it when its class builds cfg's variant.
func build[M laidOut](cfg *Config, newM func(Config) M) (M, error) {
	var none M
	if err := cfg.Validate(); err != nil {
		return none, err
	}
	m := newM(*cfg)
	if l := m.layout(); !slices.Contains(l.variants, cfg.Variant) {
		return none, fmt.Errorf("bert: %s builds %v models, not %q (LoadEncoder runs every variant)",
			l.suffix, l.variants, cfg.Variant)
	}
	return m, nil
}

// newInit returns newM(cfg) with HF's random initialisation drawn from rng.
func newInit[M laidOut](cfg Config, rng *tensor.RNG, newM func(Config) M) (M, error) {
	m, err := build(&cfg, newM)
	if err == nil {
		initParams(m.Params(), cfg, rng)
	}
	return m, err
}

// loadFolder reads dir's config and weights into the model that newM
// returns for the config.
func loadFolder[M laidOut](dir string, newM func(Config) M) (M, error) {
	var none M
	cfg, r, err := openFolder(dir)
	if err != nil {
		return none, err
	}
	defer r.Close()
	m, err := build(&cfg, newM)
	if err != nil {
		return none, fmt.Errorf("%w, in %s", err, dir)
	}
	if err := fill(r, weightsPath(dir), cfg.Variant, m.Params()); err != nil {
		return none, err
	}
	return m, nil
}

// crossEntropy is the mean cross-entropy of logits [..., n] against one
// class index per row (-100 ignores a row), its errors naming the loss.
func crossEntropy(what string, logits *autograd.Var, labels []int, opts tensor.CrossEntropyOptions) (*autograd.Var, error) {
	loss, err := autograd.CrossEntropy(autograd.Reshape(logits, -1, logits.Value.Dim(-1)), labels, opts)
	if err != nil {
		return nil, fmt.Errorf("bert: %s loss: %w", what, err)
	}
	return loss, nil
}
