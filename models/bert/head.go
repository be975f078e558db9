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
// says once what it is (class: its Hugging Face name, the variants it
// builds, the heads its Encoder runs) and what it holds (layout: the base
// model, the head's modules, their dropouts); the embedded headed turns
// that into Params, SetTraining, Save and Encoder, and newInit and
// loadFolder into its New and Load functions. Adding a head is its struct,
// those two methods, a Forward and a Loss.

// class is what a model class is, independent of its weights.
type class struct {
	suffix   string    // the Hugging Face class after the variant's prefix: "ForQuestionAnswering"
	variants []Variant // the variants it builds and loads
	heads    Heads     // the heads its Encoder runs (zero: those its tensors hold)
}

// layout is what a model holds.
type layout struct {
	base     *Model        // the encoder, under the variant's prefix (bert.*, electra.*)
	parts    []part        // the head's modules, in state_dict order
	dropouts []*nn.Dropout // the head's own dropouts
}

// part is a module under its state_dict prefix.
type part struct {
	prefix string
	m      nn.Module
}

// param is one parameter as a module; it is named by its part's prefix.
type param struct{ v *autograd.Var }

// Params returns the parameter, unnamed.
func (p param) Params() []nn.NamedParam { return []nn.NamedParam{{Var: p.v}} }

// classed is a model that knows its class: *Model and every head.
type classed interface {
	nn.Module
	class() class
}

// withHead is a model with a head.
type withHead interface {
	classed
	layout() layout
}

// headed is embedded in each model with a head and gives it the methods
// its class and layout define. self is the model itself.
type headed struct{ self withHead }

// Params lists every parameter under its state_dict name: the base model's
// under the variant's prefix (bert.*, electra.*), then the head's. A tied
// weight (a masked-LM decoder is the word embedding) is listed once.
func (h headed) Params() []nn.NamedParam {
	l := h.self.layout()
	ps := prefixed(l.base.Config.Variant.names().base, l.base.Params())
	for _, p := range l.parts {
		ps = append(ps, prefixed(p.prefix, p.m.Params())...)
	}
	return ps
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
	cfg := h.self.layout().base.Config
	return save(dir, cfg, cfg.Variant.names().class+h.self.class().suffix, h.Params())
}

// Encoder returns an Encoder of the model's current weights (see
// Model.Encoder) with the class's heads, or opts.Heads when it is set.
func (h headed) Encoder(opts *EncoderOptions) (*Encoder, error) {
	o := EncoderOptions{Heads: h.self.class().heads}
	if opts != nil {
		o.Format = opts.Format
		if opts.Heads != 0 {
			o.Heads = opts.Heads
		}
	}
	return encoderOf(h.self.layout().base.Config, h, &o)
}

// checkClass validates cfg (filling in its defaults) for a model of class c.
func checkClass(cfg *Config, c class) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if !slices.Contains(c.variants, cfg.Variant) {
		return fmt.Errorf("bert: %s builds %v models, not %q (LoadEncoder runs every variant)", c.suffix, c.variants, cfg.Variant)
	}
	return nil
}

// newInit returns build(cfg) with HF's random initialisation drawn from
// rng, once cfg is valid for M's class.
func newInit[M classed](cfg Config, rng *tensor.RNG, build func(Config) M) (M, error) {
	var none M
	if err := checkClass(&cfg, none.class()); err != nil {
		return none, err
	}
	m := build(cfg)
	initParams(m.Params(), cfg, rng)
	return m, nil
}

// loadFolder reads dir's config and weights into the model that build
// returns for the config, once the config is valid for M's class.
func loadFolder[M classed](dir string, build func(Config) M) (M, error) {
	var none M
	cfg, r, err := openFolder(dir)
	if err != nil {
		return none, err
	}
	r.Close()
	if err := checkClass(&cfg, none.class()); err != nil {
		return none, fmt.Errorf("%w, in %s", err, dir)
	}
	m := build(cfg)
	if err := LoadParams(dir, m.Params()); err != nil {
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
