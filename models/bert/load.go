package bert

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"github.com/glossa-ai/glossa/nn"
)

// Loading a Hugging Face BERT folder (config.json + model.safetensors, or
// sharded safetensors with an index). Checkpoint names are the state_dict of
// the model class (Params lists them; buildEncoder reads as their map), in
// nn.Linear's layout [out, in]. The variations found in the wild, all
// accepted as Hugging Face accepts them (Aliases): files saved from
// BertModel have no "bert." prefix; the original TensorFlow-converted
// checkpoints name LayerNorm parameters gamma and beta;
// embeddings.position_ids is a buffer and is ignored, as are tensors of
// heads the loaded class does not have (the pooler and NSP head of a
// pre-training checkpoint loaded as BertForMaskedLM). The decoder weight is
// always the word embedding (tie_word_embeddings), and decoder.bias, when it
// is stored instead of cls.predictions.bias, is the same vector.

// ErrMissingTensor is matched (errors.Is) by load errors for a parameter the
// checkpoint lacks; it is checkpoint.ErrMissingTensor.
var ErrMissingTensor = checkpoint.ErrMissingTensor

// Aliases returns the other checkpoint names under which the tensor named
// name may be stored, in the order they are tried: without or with the
// "bert." prefix, cls.predictions.decoder.bias for cls.predictions.bias, and
// the gamma/beta names of LayerNorm parameters. Every BERT loader looks
// names up through it (as infer.BuilderOptions.Aliases).
func Aliases(name string) []string {
	names := []string{name}
	if rest, ok := strings.CutPrefix(name, "bert."); ok {
		names = append(names, rest)
	} else if !strings.HasPrefix(name, "cls.") && !strings.HasPrefix(name, "classifier.") {
		names = append(names, "bert."+name)
	}
	if name == "cls.predictions.bias" {
		names = append(names, "cls.predictions.decoder.bias")
	}
	for _, n := range names {
		if base, ok := strings.CutSuffix(n, "LayerNorm.weight"); ok {
			names = append(names, base+"LayerNorm.gamma")
		} else if base, ok := strings.CutSuffix(n, "LayerNorm.bias"); ok {
			names = append(names, base+"LayerNorm.beta")
		}
	}
	return names[1:]
}

// newBuilder returns the Builder of BERT checkpoint r (nil: fresh tensors
// from init) read from source, with matrices in format f.
func newBuilder(r checkpoint.Reader, source string, f infer.Format, init func(string, []int, []float32)) *infer.Builder {
	return infer.NewBuilder(r, infer.BuilderOptions{Model: "bert", Source: source, Format: f, Aliases: Aliases, Init: init})
}

// buildEncoder loads the Encoder of cfg from checkpoint r (nil: fresh
// weights from init), named source in errors. Its calls are the map of the
// checkpoint: each names a tensor, or a .weight/.bias pair, with its
// dimensions (a Linear's in, out).
func buildEncoder(r checkpoint.Reader, source string, cfg Config, opts *EncoderOptions, init func(string, []int, []float32)) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &EncoderOptions{}
	}
	b := newBuilder(r, source, opts.Format, init)
	heads := opts.Heads
	if heads&(HeadNSP|HeadClassifier) != 0 {
		heads |= HeadPooler
	}
	want := func(h Heads, name string) bool {
		if heads != 0 {
			return heads&h != 0
		}
		return b.Has(name)
	}
	C, F, V, H, eps := cfg.HiddenSize, cfg.Intermediate, cfg.VocabSize, cfg.NumHeads, float32(cfg.LayerNormEps)
	e := &Encoder{Config: cfg, Format: b.Format(), attn: infer.Attention{Heads: H, KVHeads: H, HeadDim: C / H}}
	bb := b.Sub("bert")
	emb := bb.Sub("embeddings")
	embedding := func(name string, rows int) *infer.Embedding {
		t := emb.Embedding(name, rows, C)
		if r == nil || t == nil || t.Rows() == nil {
			return t
		}
		// A float32 table is a view of the checkpoint, which the Encoder outlives.
		return infer.NewEmbedding(slices.Clone(t.Rows()), rows, C, infer.F32)
	}
	e.word = embedding("word_embeddings.weight", V)
	e.position = embedding("position_embeddings.weight", cfg.MaxPositions)
	e.tokenType = embedding("token_type_embeddings.weight", cfg.TypeVocab)
	e.embNorm = emb.LayerNorm("LayerNorm", C, eps)
	for i := range cfg.NumLayers {
		l := bb.Sub("encoder", "layer", i)
		e.layers = append(e.layers, encoderLayer{
			qkv:      l.LinearCat([]string{"attention.self.query", "attention.self.key", "attention.self.value"}, C, []int{C, C, C}, true),
			attnOut:  l.Linear("attention.output.dense", C, C, true),
			attnNorm: l.LayerNorm("attention.output.LayerNorm", C, eps),
			inter:    l.Linear("intermediate.dense", C, F, true),
			out:      l.Linear("output.dense", F, C, true),
			outNorm:  l.LayerNorm("output.LayerNorm", C, eps),
		})
	}
	if want(HeadPooler, "bert.pooler.dense.weight") {
		e.pooler = bb.Linear("pooler.dense", C, C, true)
	}
	var decoderBias []float32
	mlm := want(HeadMLM, "cls.predictions.transform.dense.weight")
	if mlm {
		p := b.Sub("cls", "predictions")
		e.mlmDense, e.mlmNorm = p.Linear("transform.dense", C, C, true), p.LayerNorm("transform.LayerNorm", C, eps)
		decoderBias = p.Tensor("bias", V)
	}
	if want(HeadNSP, "cls.seq_relationship.weight") {
		e.nsp = b.Linear("cls.seq_relationship", C, 2, true)
	}
	if want(HeadClassifier, "classifier.weight") {
		e.classifier = b.Linear("classifier", C, cfg.Labels(), true)
	}
	if err := b.Err(); err != nil {
		return nil, err
	}
	if mlm {
		e.decoder = infer.NewLinear(e.word.Tied(), decoderBias) // decoder.weight = the word embedding
	}
	return e, nil
}

// LoadParams fills ps, parameters under their state_dict names (a model's
// Params), from the safetensors weights of model folder dir, whichever BERT
// class saved them, checking shapes. Errors name the parameter and the file
// (and wrap ErrMissingTensor when it is absent).
func LoadParams(dir string, ps []nn.NamedParam) error {
	r, err := checkpoint.OpenFolder(dir)
	if err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	defer r.Close()
	b := newBuilder(r, weightsPath(dir), infer.F32, nil)
	for _, p := range ps {
		if w := b.Tensor(p.Name, p.Var.Value.Shape()...); w != nil {
			copy(p.Var.Value.Data(), w)
		}
	}
	return b.Err()
}

// weightsPath names the weights of dir in errors: its model.safetensors,
// or the index of its shards.
func weightsPath(dir string) string {
	p := filepath.Join(dir, checkpoint.SingleFileName)
	if _, err := os.Stat(p); err != nil {
		return filepath.Join(dir, checkpoint.IndexFileName)
	}
	return p
}

// openFolder reads dir's config and opens its weights (model.safetensors
// or the shards of model.safetensors.index.json, in float32, float16 or
// bfloat16), checking that they can hold the model the config describes.
func openFolder(dir string) (Config, checkpoint.Reader, error) {
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return Config{}, nil, err
	}
	r, err := checkpoint.OpenFolder(dir)
	if err != nil {
		return Config{}, nil, fmt.Errorf("bert: %w", err)
	}
	// config.json alone can describe a model far larger than memory; every
	// encoder parameter must be read from a distinct checkpoint tensor, so
	// check the sizes before allocating anything.
	if need, have := cfg.encoderParams(), storedValues(r); need > have {
		r.Close()
		return Config{}, nil, fmt.Errorf("bert: %s: config describes %d encoder parameters, but the checkpoint holds only %d values", dir, need, have)
	}
	return cfg, r, nil
}

// loadFolder reads dir's config and weights into the model that build
// returns for the config.
func loadFolder[M nn.Module](dir string, build func(Config) M) (M, error) {
	var none M
	cfg, r, err := openFolder(dir)
	if err != nil {
		return none, err
	}
	r.Close()
	m := build(cfg)
	if err := LoadParams(dir, m.Params()); err != nil {
		return none, err
	}
	return m, nil
}

// encoderParams returns the number of parameters of the embeddings and
// encoder layers c describes (no pooler or heads). Validate bounds every
// term, so the sum cannot overflow.
func (c Config) encoderParams() int64 {
	C, F := int64(c.HiddenSize), int64(c.Intermediate)
	emb := (int64(c.VocabSize)+int64(c.MaxPositions)+int64(c.TypeVocab))*C + 2*C
	layer := 4*(C*C+C) + 2*F*C + F + C + 4*C
	return emb + int64(c.NumLayers)*layer
}

// storedValues returns the total element count of the tensors in r.
func storedValues(r checkpoint.Reader) int64 {
	var n int64
	for _, name := range r.Names() {
		if info, ok := r.Info(name); ok && info.DType.Size() > 0 {
			n += info.NumBytes() / int64(info.DType.Size())
		}
	}
	return n
}

// Load reads a BertModel (with its pooler) from a Hugging Face model
// folder: config.json and model.safetensors, whatever head class saved it.
func Load(dir string) (*Model, error) {
	return loadFolder(dir, func(c Config) *Model { return newModel(c, true) })
}

// LoadForPreTraining reads a BertForPreTraining from a model folder.
func LoadForPreTraining(dir string) (*ForPreTraining, error) {
	return loadFolder(dir, newForPreTraining)
}

// LoadForMaskedLM reads a BertForMaskedLM from a model folder (a
// BertForPreTraining checkpoint also loads: its pooler and NSP head are
// ignored).
func LoadForMaskedLM(dir string) (*ForMaskedLM, error) { return loadFolder(dir, newForMaskedLM) }

// LoadForSequenceClassification reads a BertForSequenceClassification from
// a model folder; the classifier has Config.Labels() outputs.
func LoadForSequenceClassification(dir string) (*ForSequenceClassification, error) {
	return loadFolder(dir, newForSequenceClassification)
}

// Save writes a BertModel folder (config.json, model.safetensors) as
// BertModel.save_pretrained does: parameter names without "bert.".
func (m *Model) Save(dir string) error { return save(dir, m.Config, "BertModel", m.Params()) }

// Save writes a BertForPreTraining folder; the tied decoder weight is not
// stored, as save_pretrained leaves out tied duplicates.
func (m *ForPreTraining) Save(dir string) error {
	return save(dir, m.Bert.Config, "BertForPreTraining", m.Params())
}

// Save writes a BertForMaskedLM folder.
func (m *ForMaskedLM) Save(dir string) error {
	return save(dir, m.Bert.Config, "BertForMaskedLM", m.Params())
}

// Save writes a BertForSequenceClassification folder.
func (m *ForSequenceClassification) Save(dir string) error {
	return save(dir, m.Bert.Config, "BertForSequenceClassification", m.Params())
}

// save writes config.json and model.safetensors into dir (created if
// needed). Each file is written to a temporary file and renamed into place,
// weights first, so a reader never sees a half-written file.
func save(dir string, cfg Config, arch string, ps []nn.NamedParam) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bert: save: %w", err)
	}
	ts := make([]checkpoint.Tensor, len(ps))
	for i, p := range ps {
		v := p.Var.Value.Contiguous()
		ts[i] = checkpoint.Tensor{Name: p.Name, Shape: v.Shape().Clone(), Data: v.Data()}
	}
	if err := checkpoint.Save(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("bert: save: %w", err)
	}
	js, err := cfg.marshal(arch)
	if err != nil {
		return fmt.Errorf("bert: save config: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "config.json"), js); err != nil {
		return fmt.Errorf("bert: save config: %w", err)
	}
	return nil
}
