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

// newBuilder returns the Builder of checkpoint r (nil: fresh tensors from
// init) of variant v, read from source, with matrices in format f.
func newBuilder(r checkpoint.Reader, source string, v Variant, f infer.Format, init func(string, []int, []float32)) *infer.Builder {
	return infer.NewBuilder(r, infer.BuilderOptions{Model: "bert", Source: source, Format: f, Aliases: AliasesOf(v), Init: init})
}

// archHead returns the head that cfg's architecture classes name
// (BertForTokenClassification: HeadTokenClassifier, …; BertForPreTraining:
// HeadMLM), or 0.
func (c Config) archHead() Heads {
	for _, a := range c.Architectures {
		if strings.HasSuffix(a, "ForPreTraining") && c.Variant != Electra {
			return HeadMLM
		}
		for i, name := range headClasses {
			if strings.HasSuffix(a, "For"+name) {
				return 1 << i
			}
		}
	}
	return 0
}

// buildEncoder loads the Encoder of cfg from checkpoint r (nil: fresh
// weights from init), named source in errors. Its calls are the map of the
// checkpoint: each names a tensor, or a .weight/.bias pair, with its
// dimensions (a Linear's in, out); names are those of cfg.Variant.
func buildEncoder(r checkpoint.Reader, source string, cfg Config, opts *EncoderOptions, init func(string, []int, []float32)) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &EncoderOptions{}
	}
	v, nm := cfg.Variant, cfg.Variant.names()
	b := newBuilder(r, source, v, opts.Format, init)
	bb := b.Sub(nm.base)
	heads := opts.Heads
	if heads == 0 {
		heads = detectHeads(b, cfg)
	}
	if heads&HeadNSP != 0 || heads&HeadClassifier != 0 && v == Bert {
		heads |= HeadPooler
	}
	if heads&(HeadPooler|HeadNSP) != 0 && (v == DistilBert || v == Electra) {
		return nil, fmt.Errorf("bert: %s has no %v head", v, heads&(HeadPooler|HeadNSP))
	}
	C, E, F, V, H, eps := cfg.HiddenSize, cfg.EmbedDim(), cfg.Intermediate, cfg.VocabSize, cfg.NumHeads, float32(cfg.LayerNormEps)
	e := &Encoder{Config: cfg, Format: b.Format(), attn: infer.Attention{Heads: H, KVHeads: H, HeadDim: C / H}, heads: heads}
	emb := bb.Sub("embeddings")
	embedding := func(name string, rows int) *infer.Embedding {
		t := emb.Embedding(name, rows, E)
		if r == nil || t == nil || t.Rows() == nil {
			return t
		}
		// A float32 table is a view of the checkpoint, which the Encoder outlives.
		return infer.NewEmbedding(slices.Clone(t.Rows()), rows, E, infer.F32)
	}
	e.word = embedding("word_embeddings.weight", V)
	e.position = embedding("position_embeddings.weight", cfg.MaxPositions)
	if cfg.hasTokenTypes() {
		e.tokenType = embedding("token_type_embeddings.weight", cfg.TypeVocab)
	}
	e.embNorm = emb.LayerNorm("LayerNorm", E, eps)
	if E != C {
		e.project = bb.Linear("embeddings_project", E, C, true)
	}
	for i := range cfg.NumLayers {
		l := bb.Sub(nm.layers, i)
		e.layers = append(e.layers, encoderLayer{
			qkv:      l.LinearCat([]string{nm.query, nm.key, nm.value}, C, []int{C, C, C}, true),
			attnOut:  l.Linear(nm.attnOut, C, C, true),
			attnNorm: l.LayerNorm(nm.attnNorm, C, eps),
			inter:    l.Linear(nm.inter, C, F, true),
			out:      l.Linear(nm.out, F, C, true),
			outNorm:  l.LayerNorm(nm.outNorm, C, eps),
		})
	}
	if heads&HeadPooler != 0 {
		e.pooler = bb.Linear("pooler.dense", C, C, true)
	}
	var decoderBias []float32
	if heads&HeadMLM != 0 { // LayerNorm(act(dense(x))), C → E
		e.mlm = &mlmHead{act: cfg.Activation}
		if nm.mlmGELU {
			e.mlm.act = infer.GELU
		}
		e.mlm.dense, e.mlm.norm = b.Linear(nm.mlmDense, C, E, true), b.LayerNorm(nm.mlmNorm, E, eps)
		decoderBias = b.Tensor(nm.mlmBias, V)
	}
	if heads&HeadNSP != 0 {
		e.nsp = b.Linear("cls.seq_relationship", C, 2, true)
	}
	if heads&HeadClassifier != 0 {
		e.seq = &seqHead{act: nm.seqAct}
		if nm.seqPre != "" {
			e.seq.pre = b.Linear(nm.seqPre, C, C, true)
		}
		e.seq.out = b.Linear(nm.seqOut, C, cfg.Labels(), true)
	}
	if heads&HeadTokenClassifier != 0 {
		e.tokens = b.Linear("classifier", C, cfg.Labels(), true)
	}
	if heads&HeadQA != 0 {
		e.spans = b.Linear("qa_outputs", C, 2, true)
	}
	if err := b.Err(); err != nil {
		return nil, err
	}
	if e.mlm != nil {
		e.mlm.decoder = e.word.Head(decoderBias) // decoder.weight = the word embedding
	}
	return e, nil
}

// detectHeads returns the heads whose tensors the checkpoint behind b
// holds. A "classifier" tensor is a sequence classifier or a token
// classifier as the config's architectures say; without them, BERT's is a
// sequence classifier when there is a pooler (BertForTokenClassification
// has none).
func detectHeads(b *infer.Builder, cfg Config) Heads {
	v, nm := cfg.Variant, cfg.Variant.names()
	var h Heads
	if v != DistilBert && v != Electra && b.Has(nm.base+".pooler.dense.weight") {
		h |= HeadPooler
	}
	if b.Has(nm.mlmDense + ".weight") {
		h |= HeadMLM
	}
	if v == Bert && b.Has("cls.seq_relationship.weight") {
		h |= HeadNSP
	}
	if b.Has("qa_outputs.weight") {
		h |= HeadQA
	}
	switch arch := cfg.archHead(); {
	case nm.seqPre != "" && b.Has(nm.seqPre+".weight"):
		h |= HeadClassifier
	case !b.Has("classifier.weight"): // no classifier
	case nm.seqPre != "" || arch == HeadTokenClassifier || arch == 0 && h&HeadPooler == 0:
		h |= HeadTokenClassifier
	default: // BERT's classifier over the pooler
		h |= HeadClassifier
	}
	return h
}

// LoadParams fills ps, parameters under their state_dict names (a model's
// Params), from the safetensors weights of model folder dir, whichever BERT
// class saved them, checking shapes. Errors name the parameter and the file
// (and wrap ErrMissingTensor when it is absent).
func LoadParams(dir string, ps []nn.NamedParam) error {
	v := Bert
	if cfg, err := ReadConfig(filepath.Join(dir, "config.json")); err == nil {
		v = cfg.Variant // the variant's prefix and aliases ("electra.")
	}
	r, err := checkpoint.OpenFolder(dir)
	if err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	defer r.Close()
	return fill(r, weightsPath(dir), v, ps)
}

// fill copies ps from checkpoint r of variant v, named source in errors.
func fill(r checkpoint.Reader, source string, v Variant, ps []nn.NamedParam) error {
	b := newBuilder(r, source, v, infer.F32, nil)
	for _, p := range ps {
		b.Into(p.Name, p.Var.Value.Data(), p.Var.Value.Shape()...)
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

// encoderParams returns the number of parameters of the embeddings and
// encoder layers c describes (no pooler or heads). Validate bounds every
// term, so the sum cannot overflow.
func (c Config) encoderParams() int64 {
	C, E, F := int64(c.HiddenSize), int64(c.EmbedDim()), int64(c.Intermediate)
	emb := (int64(c.VocabSize)+int64(c.MaxPositions)+int64(c.TypeVocab))*E + 2*E
	if E != C {
		emb += E*C + C // embeddings_project
	}
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

// Load reads a BertModel (with its pooler; an ElectraModel, which has
// none) from a Hugging Face model folder: config.json and
// model.safetensors, whatever head class saved it.
func Load(dir string) (*Model, error) { return loadFolder(dir, newBase) }

// Save writes a BertModel folder (config.json, model.safetensors) as
// BertModel.save_pretrained does: parameter names without "bert.".
func (m *Model) Save(dir string) error {
	return save(dir, m.Config, m.Config.Variant.names().class+"Model", m.Params())
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
