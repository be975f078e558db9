package bert

import (
	"fmt"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/nn"
)

// Loading a Hugging Face BERT folder (config.json + model.safetensors, or
// sharded safetensors with an index).
//
// Checkpoint names are the state_dict of the model class, nn.Linear layout
// [out, in]:
//
//	bert.embeddings.word_embeddings.weight                  [V, C]
//	bert.embeddings.position_embeddings.weight              [P, C]
//	bert.embeddings.token_type_embeddings.weight            [types, C]
//	bert.embeddings.LayerNorm.{weight,bias}                 [C]
//	bert.encoder.layer.N.attention.self.{query,key,value}.{weight,bias}   [C, C] [C]
//	bert.encoder.layer.N.attention.output.dense.{weight,bias}            [C, C] [C]
//	bert.encoder.layer.N.attention.output.LayerNorm.{weight,bias}        [C]
//	bert.encoder.layer.N.intermediate.dense.{weight,bias}                [F, C] [F]
//	bert.encoder.layer.N.output.dense.{weight,bias}                      [C, F] [C]
//	bert.encoder.layer.N.output.LayerNorm.{weight,bias}                  [C]
//	bert.pooler.dense.{weight,bias}                         [C, C] [C]
//	cls.predictions.transform.dense.{weight,bias}           [C, C] [C]   (MLM head)
//	cls.predictions.transform.LayerNorm.{weight,bias}       [C]
//	cls.predictions.bias                                    [V]
//	cls.predictions.decoder.weight                          [V, C]  tied: usually not stored
//	cls.seq_relationship.{weight,bias}                      [2, C] [2]   (NSP head)
//	classifier.{weight,bias}                                [labels, C]  (classification)
//
// The variations found in the wild, all accepted as Hugging Face accepts
// them: files saved from BertModel have no "bert." prefix; the original
// TensorFlow-converted checkpoints name LayerNorm parameters gamma and beta;
// embeddings.position_ids is a buffer and is ignored, as are tensors of
// heads the loaded class does not have (the pooler and NSP head of a
// pre-training checkpoint loaded as BertForMaskedLM). The decoder weight is
// always the word embedding (tie_word_embeddings), and decoder.bias, when
// it is stored instead of cls.predictions.bias, is the same vector.

// ErrMissingTensor is matched (errors.Is) by load errors for a parameter the
// checkpoint lacks; it is checkpoint.ErrMissingTensor.
var ErrMissingTensor = checkpoint.ErrMissingTensor

// candidates returns the checkpoint names under which parameter name may
// be stored, preferred first.
func candidates(name string) []string {
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
	return names
}

// loadParams fills every parameter of ps from r, checking shapes. Errors
// name the parameter (and wrap ErrMissingTensor when it is absent).
func loadParams(r checkpoint.Reader, ps []nn.NamedParam) error {
	for _, p := range ps {
		var (
			info  checkpoint.TensorInfo
			found bool
		)
		for _, n := range candidates(p.Name) {
			if info, found = r.Info(n); found {
				break
			}
		}
		if !found {
			return fmt.Errorf("bert: load %s: %w", p.Name, ErrMissingTensor)
		}
		want := []int(p.Var.Value.Shape())
		if !slices.Equal(info.Shape, want) {
			return fmt.Errorf("bert: load %s: checkpoint tensor %s has shape %v, want %v", p.Name, info.Name, info.Shape, want)
		}
		if err := r.Float32Into(p.Var.Value.Data(), info.Name); err != nil {
			return fmt.Errorf("bert: load %s: %w", p.Name, err)
		}
	}
	return nil
}

// openWeights opens the safetensors weights of a model folder: one
// model.safetensors or the shards of model.safetensors.index.json, in
// float32, float16 or bfloat16 (widened exactly on load).
func openWeights(dir string) (checkpoint.Reader, error) {
	f, err := checkpoint.OpenFolder(dir)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	return f, nil
}

// loadFolder reads dir's config and weights into the model that build
// returns for the config.
func loadFolder(dir string, build func(Config) nn.Module) (nn.Module, error) {
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	r, err := openWeights(dir)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// config.json alone can describe a model far larger than memory; every
	// encoder parameter must be read from a distinct checkpoint tensor, so
	// check the sizes before allocating anything.
	if need, have := cfg.encoderParams(), storedValues(r); need > have {
		return nil, fmt.Errorf("bert: %s: config describes %d encoder parameters, but the checkpoint holds only %d values", dir, need, have)
	}
	m := build(cfg)
	if err := loadParams(r, m.Params()); err != nil {
		return nil, err
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
	m, err := loadFolder(dir, func(c Config) nn.Module { return newModel(c, true) })
	if err != nil {
		return nil, err
	}
	return m.(*Model), nil
}

// LoadForPreTraining reads a BertForPreTraining from a model folder.
func LoadForPreTraining(dir string) (*ForPreTraining, error) {
	m, err := loadFolder(dir, func(c Config) nn.Module { return newForPreTraining(c) })
	if err != nil {
		return nil, err
	}
	return m.(*ForPreTraining), nil
}

// LoadForMaskedLM reads a BertForMaskedLM from a model folder (a
// BertForPreTraining checkpoint also loads: its pooler and NSP head are
// ignored).
func LoadForMaskedLM(dir string) (*ForMaskedLM, error) {
	m, err := loadFolder(dir, func(c Config) nn.Module { return newForMaskedLM(c) })
	if err != nil {
		return nil, err
	}
	return m.(*ForMaskedLM), nil
}

// LoadForSequenceClassification reads a BertForSequenceClassification from
// a model folder; the classifier has Config.Labels() outputs.
func LoadForSequenceClassification(dir string) (*ForSequenceClassification, error) {
	m, err := loadFolder(dir, func(c Config) nn.Module { return newForSequenceClassification(c) })
	if err != nil {
		return nil, err
	}
	return m.(*ForSequenceClassification), nil
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
