package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer"
)

// FeatureExtraction is Hugging Face's feature-extraction pipeline — the
// last hidden state of every token — with the pooling and normalisation
// of sentence-transformers on top, so that it also gives sentence
// embeddings. A sentence-transformers folder (modules.json, N_Pooling/
// config.json, a Normalize module, sentence_bert_config.json) sets the
// defaults: its pooling, its normalisation, its max_seq_length. It is safe
// for concurrent use.
type FeatureExtraction struct {
	m         *model
	pooling   []Pooling // the folder's pooling modes (nil: none)
	normalize bool      // the folder has a Normalize module
}

// Pooling turns a sequence's token vectors into one vector.
type Pooling int

// The pooling modes (sentence-transformers' Pooling module; transformers.js
// names mean and cls).
const (
	PoolDefault      Pooling = iota // the model folder's, else PoolNone
	PoolNone                        // every token's vector
	PoolMean                        // the mean over the real tokens
	PoolCLS                         // the first token's vector ([CLS], <s>)
	PoolMax                         // the maximum over the real tokens, per dimension
	PoolMeanSqrtLen                 // the sum over the real tokens divided by √n
	PoolWeightedMean                // the mean weighted by position 1 … n
	PoolLastToken                   // the last real token's vector
)

var poolingNames = []string{"", "none", "mean", "cls", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"}

// String returns the mode's name ("" for PoolDefault).
func (p Pooling) String() string { return enumName(poolingNames, p, "Pooling") }

// MarshalText writes the mode's name.
func (p Pooling) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses a mode: none, mean, cls (or first_token), max,
// mean_sqrt_len_tokens, weightedmean, lasttoken (or last_token, eos).
func (p *Pooling) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "first_token":
		*p = PoolCLS
		return nil
	case "last_token", "eos":
		*p = PoolLastToken
		return nil
	}
	return parseEnum(p, poolingNames, b, "pooling", "none, mean, cls, max, mean_sqrt_len_tokens, weightedmean or lasttoken")
}

// FeatureExtractionOptions are the feature-extraction pipeline's call
// options. The zero value (or nil) follows the model folder.
type FeatureExtractionOptions struct {
	// Pooling reduces the token vectors to one. Zero: the
	// sentence-transformers pooling of the folder, else none.
	Pooling Pooling `json:"pooling"`
	// Normalize divides each vector by its L2 norm. Nil: true when the
	// folder has a Normalize module.
	Normalize *bool `json:"normalize"`
}

// Features are one input's features: Rows vectors of Dim values, row-major
// in Data — the token vectors with PoolNone, else one pooled vector. They
// marshal as Hugging Face returns them: a pooled vector as a list of Dim
// numbers (sentence-transformers' encode), token vectors as the pipeline's
// [1, T, C] nested lists.
type Features struct {
	Rows, Dim int
	Data      []float32
	Pooled    bool
	// Tokens is the length of the sequence the encoder ran, special
	// tokens included, after truncation.
	Tokens int
}

// MarshalJSON writes f in Hugging Face's shape.
func (f Features) MarshalJSON() ([]byte, error) {
	if f.Pooled {
		return json.Marshal(f.Data)
	}
	rows := make([][]float32, f.Rows)
	for r := range rows {
		rows[r] = f.Data[r*f.Dim : (r+1)*f.Dim]
	}
	return json.Marshal([][][]float32{rows})
}

// LoadFeatureExtraction loads the feature-extraction pipeline of any
// encoder (see Load), reading a sentence-transformers layout when the
// folder has one.
func LoadFeatureExtraction(ctx context.Context, modelRef string, opts *Options) (*FeatureExtraction, error) {
	m, st, err := loadSentenceModel(ctx, modelRef, opts)
	if err != nil {
		return nil, err
	}
	return newFeatureExtraction(m, st)
}

// loadSentenceModel loads the encoder of modelRef with every head it holds,
// from the folder's sentence-transformers module when it has that layout,
// and returns the layout's settings.
func loadSentenceModel(ctx context.Context, modelRef string, opts *Options) (*model, stConfig, error) {
	dir, err := resolve(ctx, modelRef, opts)
	if err != nil {
		return nil, stConfig{}, err
	}
	st, err := readSentenceTransformers(dir)
	if err != nil {
		return nil, stConfig{}, err
	}
	m, err := loadModelDir(FeatureExtractionTask, filepath.Join(dir, st.modelPath), modelRef, opts, 0)
	return m, st, err
}

// newFeatureExtraction is the feature-extraction pipeline over a loaded
// model and its folder's sentence-transformers settings.
func newFeatureExtraction(m *model, st stConfig) (*FeatureExtraction, error) {
	m, err := m.withMaxLen(st.maxSeqLength)
	if err != nil {
		return nil, err
	}
	return &FeatureExtraction{m: m, pooling: st.pooling, normalize: st.normalize}, nil
}

// Task reports FeatureExtractionTask.
func (p *FeatureExtraction) Task() Task { return FeatureExtractionTask }

// Dim returns the width of a token or pooled vector (with several pooling
// modes, a pooled vector is their concatenation).
func (p *FeatureExtraction) Dim() int { return p.m.enc.Config.HiddenSize }

// settings returns the pooling modes (nil: none) and normalisation opts
// ask for.
func (p *FeatureExtraction) settings(opts *FeatureExtractionOptions) ([]Pooling, bool, error) {
	if opts == nil {
		opts = &FeatureExtractionOptions{}
	}
	modes := p.pooling
	switch {
	case opts.Pooling < PoolDefault || opts.Pooling > PoolLastToken:
		return nil, false, inputErr("pooling %d", int(opts.Pooling))
	case opts.Pooling == PoolNone:
		modes = nil
	case opts.Pooling != PoolDefault:
		modes = []Pooling{opts.Pooling}
	}
	norm := p.normalize
	if opts.Normalize != nil {
		norm = *opts.Normalize
	}
	return modes, norm, nil
}

// Run computes the features of every text, truncated to the model's
// length (or the folder's max_seq_length), in batched forward passes.
func (p *FeatureExtraction) Run(ctx context.Context, texts []string, opts *FeatureExtractionOptions) ([]Features, error) {
	if len(texts) == 0 {
		return nil, inputErr("no inputs")
	}
	encs, err := encodeAll(p.m.trunc, texts, nil, p.m.maxLen)
	if err != nil {
		return nil, err
	}
	return p.run(ctx, encs, opts)
}

// RunIDs computes the features of sequences given as token ids, each the
// whole sequence the encoder reads: nothing is added (no [CLS] or [SEP])
// and nothing is cut, so a sequence longer than the model's length is an
// error, as is an id outside the vocabulary.
func (p *FeatureExtraction) RunIDs(ctx context.Context, ids [][]int, opts *FeatureExtractionOptions) ([]Features, error) {
	if len(ids) == 0 {
		return nil, inputErr("no inputs")
	}
	V := p.m.enc.Config.VocabSize
	encs := make([]*tokenizer.Encoding, len(ids))
	for i, seq := range ids {
		switch {
		case len(seq) == 0:
			return nil, inputErr("input %d has no tokens", i)
		case len(seq) > p.m.maxLen:
			return nil, inputErr("input %d is %d tokens, more than the model's %d", i, len(seq), p.m.maxLen)
		}
		for _, id := range seq {
			if id < 0 || id >= V {
				return nil, inputErr("input %d: token id %d is outside the vocabulary of %d", i, id, V)
			}
		}
		encs[i] = &tokenizer.Encoding{IDs: seq, TypeIDs: make([]int, len(seq))}
	}
	return p.run(ctx, encs, opts)
}

// run computes the features of encoded sequences.
func (p *FeatureExtraction) run(ctx context.Context, encs []*tokenizer.Encoding, opts *FeatureExtractionOptions) ([]Features, error) {
	modes, norm, err := p.settings(opts)
	if err != nil {
		return nil, err
	}
	m := p.m
	C := m.enc.Config.HiddenSize
	out := make([]Features, len(encs))
	done := 0
	err = m.batches(ctx, encs, func(ws *bert.Workspace, in bert.Input, batch []*tokenizer.Encoding) error {
		hidden, _, err := m.enc.Forward(ws, in)
		if err != nil {
			return err
		}
		for b, e := range batch {
			h := hidden[b*in.T*C : (b*in.T+e.Len())*C] // the real tokens (padding is on the right)
			f := Features{Rows: e.Len(), Dim: C, Tokens: e.Len()}
			if modes == nil {
				f.Data = append([]float32(nil), h...)
			} else {
				f.Rows, f.Dim, f.Pooled = 1, C*len(modes), true
				f.Data = make([]float32, 0, C*len(modes))
				for _, mode := range modes {
					f.Data = pool(f.Data, h, e.Len(), C, mode)
				}
			}
			if norm {
				for r := range f.Rows {
					normalize(f.Data[r*f.Dim : (r+1)*f.Dim])
				}
			}
			out[done+b] = f
		}
		done += len(batch)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Embed returns one vector per text with the model's defaults: its
// sentence-transformers pooling and normalisation, or, for a folder
// without that layout, mean pooling of unit length. (It is what a server's
// embeddings route wants.)
func (p *FeatureExtraction) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	fs, err := p.Run(ctx, texts, p.EmbeddingOptions())
	if err != nil {
		return nil, err
	}
	vecs := make([][]float32, len(fs))
	for i, f := range fs {
		vecs[i] = f.Data
	}
	return vecs, nil
}

// EmbeddingOptions are the options Embed runs with: the zero options for a
// sentence-transformers folder (its pooling and normalisation), mean
// pooling of unit length for any other.
func (p *FeatureExtraction) EmbeddingOptions() *FeatureExtractionOptions {
	if p.pooling != nil {
		return &FeatureExtractionOptions{}
	}
	yes := true
	return &FeatureExtractionOptions{Pooling: PoolMean, Normalize: &yes}
}

// pool appends the pooling of the T token vectors h [T, C] to dst,
// computed in float64 as sentence-transformers' float32 sums are.
func pool(dst, h []float32, T, C int, mode Pooling) []float32 {
	acc := make([]float64, C)
	switch mode {
	case PoolCLS:
		return append(dst, h[:C]...)
	case PoolLastToken:
		return append(dst, h[(T-1)*C:T*C]...)
	case PoolMax:
		for c := range acc {
			acc[c] = math.Inf(-1)
		}
		for t := range T {
			for c, v := range h[t*C : (t+1)*C] {
				acc[c] = math.Max(acc[c], float64(v))
			}
		}
	default:
		wsum := 0.0
		for t := range T {
			w := 1.0
			if mode == PoolWeightedMean {
				w = float64(t + 1)
			}
			wsum += w
			for c, v := range h[t*C : (t+1)*C] {
				acc[c] += w * float64(v)
			}
		}
		div := math.Max(wsum, 1e-9) // sentence-transformers' clamp
		if mode == PoolMeanSqrtLen {
			div = math.Sqrt(float64(T))
		}
		for c := range acc {
			acc[c] /= div
		}
	}
	for _, v := range acc {
		dst = append(dst, float32(v))
	}
	return dst
}

// normalize divides x by max(‖x‖₂, 1e-12), as torch's F.normalize.
func normalize(x []float32) {
	s := 0.0
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	n := math.Max(math.Sqrt(s), 1e-12)
	for i, v := range x {
		x[i] = float32(float64(v) / n)
	}
}

// stConfig is what a sentence-transformers folder says about its modules.
type stConfig struct {
	modelPath    string    // the Transformer module's folder ("" : the top)
	pooling      []Pooling // nil: no Pooling module (or no layout)
	normalize    bool
	maxSeqLength int
}

// readSentenceTransformers reads dir's modules.json, its Pooling module's
// config.json and sentence_bert_config.json. A folder without modules.json
// gives the zero stConfig; modules the pipeline cannot run (Dense, …) are
// an error.
func readSentenceTransformers(dir string) (stConfig, error) {
	var st stConfig
	raw, err := os.ReadFile(filepath.Join(dir, "modules.json"))
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("pipeline: %w", err)
	}
	var modules []struct {
		Path string `json:"path"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &modules); err != nil {
		return st, fmt.Errorf("pipeline: %s: %w", filepath.Join(dir, "modules.json"), err)
	}
	for _, mod := range modules {
		if strings.Contains(mod.Path, "..") || filepath.IsAbs(mod.Path) {
			return st, fmt.Errorf("pipeline: modules.json: module path %q leaves the folder", mod.Path)
		}
		switch kind := mod.Type[strings.LastIndex(mod.Type, ".")+1:]; kind {
		case "Transformer":
			st.modelPath = mod.Path
		case "Pooling":
			if st.pooling, err = readPooling(filepath.Join(dir, mod.Path, "config.json")); err != nil {
				return st, err
			}
		case "Normalize":
			st.normalize = true // Normalize saves no files
		default:
			return st, fmt.Errorf("pipeline: modules.json: the sentence-transformers module %s is not supported (Transformer, Pooling and Normalize are)", mod.Type)
		}
	}
	var cfg struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	if raw, err := os.ReadFile(filepath.Join(dir, st.modelPath, "sentence_bert_config.json")); err == nil {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return st, fmt.Errorf("pipeline: sentence_bert_config.json: %w", err)
		}
		st.maxSeqLength = cfg.MaxSeqLength
	}
	return st, nil
}

// readPooling reads a sentence-transformers Pooling config: the modes set,
// in the order the module concatenates them.
func readPooling(path string) ([]Pooling, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: pooling config: %w", err)
	}
	var c struct {
		CLS          bool   `json:"pooling_mode_cls_token"`
		Mean         bool   `json:"pooling_mode_mean_tokens"`
		Max          bool   `json:"pooling_mode_max_tokens"`
		MeanSqrt     bool   `json:"pooling_mode_mean_sqrt_len_tokens"`
		WeightedMean bool   `json:"pooling_mode_weightedmean_tokens"`
		LastToken    bool   `json:"pooling_mode_lasttoken"`
		Mode         string `json:"pooling_mode"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	var modes []Pooling
	for _, m := range []struct {
		on   bool
		mode Pooling
	}{{c.CLS, PoolCLS}, {c.Mean, PoolMean}, {c.Max, PoolMax}, {c.MeanSqrt, PoolMeanSqrtLen}, {c.WeightedMean, PoolWeightedMean}, {c.LastToken, PoolLastToken}} {
		if m.on {
			modes = append(modes, m.mode)
		}
	}
	if len(modes) == 0 && c.Mode != "" {
		var p Pooling
		if err := p.UnmarshalText([]byte(c.Mode)); err != nil {
			return nil, fmt.Errorf("pipeline: %s: %w", path, err)
		}
		modes = append(modes, p)
	}
	if len(modes) == 0 {
		return nil, fmt.Errorf("pipeline: %s sets no pooling mode", path)
	}
	return modes, nil
}

// CallJSON runs feature-extraction calls: {"inputs": TEXT or [TEXT, …],
// "pooling": "mean"|"cls"|…|"none", "normalize": true}. Each gives the
// features of its text (a vector when pooled, [1, T, C] token vectors
// otherwise), or a list of those.
func (p *FeatureExtraction) CallJSON(ctx context.Context, calls ...json.RawMessage) []Result {
	return callJSON(ctx, jsonTask[string, FeatureExtractionOptions, Features]{
		args: textArgs, run: p.Run,
		shape: func(outs []Features, single bool, _ *FeatureExtractionOptions) any { return one(outs, single) },
	}, calls)
}
