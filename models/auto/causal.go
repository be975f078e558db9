package auto

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/glossa-ai/glossa/checkpoint"
	"github.com/glossa-ai/glossa/checkpoint/gguf"
	"github.com/glossa-ai/glossa/generate"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/models/llama"
)

// State is one decoding session of a CausalLM (its KV cache and scratch),
// created by NewState. Its dynamic type is the model package's own state, so
// beam search finds its Reorder method.
type State interface {
	// Len reports the positions consumed so far.
	Len() int
	// Reset empties the state for a new batch of prompts.
	Reset()
}

// CausalLM is a loaded decoder-only language model. It implements
// generate.LM[State]; a loaded model is immutable and safe for concurrent
// use, each session owning its State.
type CausalLM struct {
	generate.LM[State]

	// Family is the architecture that was loaded.
	Family Family
	// BOSTokenID is the id that starts a sequence; -1 when none is known.
	BOSTokenID int
	// EOSTokenIDs end a generation (config.json's eos_token_id).
	EOSTokenIDs []int
	// TokenizerPath is the file or folder holding the model's tokenizer, for
	// tokenizer/auto.Load; "" when none was found beside the model.
	TokenizerPath string
	// Model is the family package's model (*llama.Model for Llama and
	// Llama2C), for callers that need more than generation.
	Model any
}

// LoadOptions configure LoadCausalLM. The zero value keeps float32
// weights.
type LoadOptions struct {
	// Format stores the weight matrices in float32 (packed) or bfloat16.
	Format infer.Format
	// CacheType is the element type of the KV cache (zero: half precision
	// for a GGUF file, as llama.cpp, float32 otherwise, as Hugging Face).
	CacheType infer.KVType
}

// NewBatch returns a state of rows independent rows of up to maxLen
// positions for continuous batching: m is a generate.BatchLM.
func (m *CausalLM) NewBatch(rows, maxLen int) (generate.BatchState, error) {
	b, ok := m.LM.(generate.BatchLM)
	if !ok {
		return generate.PerRow(m.LM).NewBatch(rows, maxLen)
	}
	return b.NewBatch(rows, maxLen)
}

// causalFamilies are the families LoadCausalLM can load.
var causalFamilies = []Family{Llama, Llama2C, GPT2, GGUF}

// LoadCausalLM loads a causal language model from path: a Hugging Face folder
// (or its config.json) whose config names a supported architecture, or a
// llama2.c checkpoint file, or a llama.cpp .gguf file. An unsupported architecture fails with an
// *UnsupportedError naming it and the supported ones.
//
// opts may be nil (float32 weights).
func LoadCausalLM(path string, opts *LoadOptions) (*CausalLM, error) {
	if opts == nil {
		opts = &LoadOptions{}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("auto: %w", err)
	}
	if !st.IsDir() {
		if filepath.Base(path) == "config.json" {
			return LoadCausalLM(filepath.Dir(path), opts)
		}
		if strings.EqualFold(filepath.Ext(path), ".gguf") {
			return loadGGUF(path, opts)
		}
		if !isLlama2C(path) {
			return nil, fmt.Errorf("auto: %s is neither a model folder, a .gguf file nor a llama2.c .bin checkpoint", path)
		}
		return loadLlama2C(path, opts)
	}
	cfg, err := SniffConfig(path)
	if err != nil {
		return nil, err
	}
	switch cfg.Family() {
	case Llama:
		m, err := llama.Load(path, &llama.Options{Format: opts.Format, CacheType: opts.CacheType})
		if err != nil {
			return nil, err
		}
		return fromLlama(m, Llama, folderTokenizer(path, tokenizerFiles)), nil
	case GPT2:
		return loadGPT2(path, opts)
	}
	return nil, fmt.Errorf("%s: %w", path, &UnsupportedError{Task: "causal LM", Arch: cfg.name(), Supported: causalFamilies})
}

// isLlama2C reports whether path looks like a llama2.c checkpoint: a .bin
// name, or a 28-byte header of seven positive int32 whose dim is a multiple of
// the head count (the legacy run.c layout has no magic number).
func isLlama2C(path string) bool {
	if strings.EqualFold(filepath.Ext(path), ".bin") {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [7]int32
	if err := binary.Read(io.LimitReader(f, 28), binary.LittleEndian, &h); err != nil {
		return false
	}
	for i, v := range h {
		if v == 0 || (v < 0 && i != 5) { // vocab_size is negative for an unshared classifier
			return false
		}
	}
	return h[3] > 0 && h[0]%h[3] == 0
}

// loadGPT2 loads a GPT2LMHeadModel folder for inference. GPT-2's config.json
// names its special tokens (both 50256, <|endoftext|>, in OpenAI's models);
// they are read here because the gpt2 package's Config does not keep them.
func loadGPT2(dir string, opts *LoadOptions) (*CausalLM, error) {
	m, err := gpt2.LoadInference(dir, &gpt2.InferOptions{Format: opts.Format, CacheType: opts.CacheType})
	if err != nil {
		return nil, err
	}
	var special struct {
		BOS *int `json:"bos_token_id"`
		EOS *int `json:"eos_token_id"`
	}
	if _, err := checkpoint.ReadConfig(dir, &special); err != nil {
		m.Close()
		return nil, fmt.Errorf("auto: %w", err)
	}
	lm := &CausalLM{LM: Wrap(m), Family: GPT2, BOSTokenID: -1, TokenizerPath: folderTokenizer(dir, tokenizerFiles), Model: m}
	if special.BOS != nil {
		lm.BOSTokenID = *special.BOS
	}
	if special.EOS != nil {
		lm.EOSTokenIDs = []int{*special.EOS}
	}
	return lm, nil
}

func loadLlama2C(path string, opts *LoadOptions) (*CausalLM, error) {
	m, err := llama.LoadLlama2C(path, &llama.Options{Format: opts.Format, CacheType: opts.CacheType})
	if err != nil {
		return nil, err
	}
	tok := filepath.Join(filepath.Dir(path), "tokenizer.bin")
	if !isFile(tok) {
		tok = ""
	}
	return fromLlama(m, Llama2C, tok), nil
}

func fromLlama(m *llama.Model, f Family, tok string) *CausalLM {
	bos := -1
	if m.Config.BOSTokenID != nil {
		bos = *m.Config.BOSTokenID
	}
	return &CausalLM{LM: Wrap(m), Family: f, BOSTokenID: bos, EOSTokenIDs: m.Config.EOSTokenIDs, TokenizerPath: tok, Model: m}
}

// Wrap hides the state type of m behind State, so that models of different
// families share one generate.LM type.
func Wrap[S State](m generate.LM[S]) generate.LM[State] { return wrapped[S]{m} }

type wrapped[S State] struct{ m generate.LM[S] }

func (w wrapped[S]) VocabSize() int { return w.m.VocabSize() }
func (w wrapped[S]) MaxLen() int    { return w.m.MaxLen() }

func (w wrapped[S]) NewState(batch, maxLen int) (State, error) {
	s, err := w.m.NewState(batch, maxLen)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// NewBatch returns the model's state as independent rows
// (generate.BatchLM): every model of this package decodes through an
// *infer.State.
func (w wrapped[S]) NewBatch(rows, maxLen int) (generate.BatchState, error) {
	s, err := w.m.NewState(rows, maxLen)
	if err != nil {
		return nil, err
	}
	st, ok := any(s).(*infer.State)
	if !ok {
		return generate.PerRow(w.m).NewBatch(rows, maxLen)
	}
	return st.Batch(), nil
}

func (w wrapped[S]) Forward(s State, ids []int, mask []bool) ([]float32, error) {
	st, ok := s.(S)
	if !ok {
		return nil, fmt.Errorf("auto: state %T was not made by this model", s)
	}
	return w.m.Forward(st, ids, mask)
}

// Attention runs ids through the model in one pass and returns its softmax
// attention probabilities, [layers][heads][T·T] with T = len(ids), row-major
// over (query, key); a query's future keys are 0. It allocates: it is meant
// for inspection (the playground's attention view), not for decoding.
func (m *CausalLM) Attention(ctx context.Context, ids []int) ([][][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d, ok := m.Model.(infer.Decoder)
	if !ok {
		return nil, fmt.Errorf("auto: %v models do not report attention", m.Family)
	}
	rec, err := infer.Run(d, ids, nil, 1, infer.RecordAttentions)
	if err != nil {
		return nil, err
	}
	T := len(ids)
	out := make([][][]float32, len(rec.Attentions))
	for l, a := range rec.Attentions { // [H, T, T]
		for h := 0; h < len(a)/(T*T); h++ {
			out[l] = append(out[l], a[h*T*T:(h+1)*T*T])
		}
	}
	return out, nil
}

// loadGGUF loads a .gguf file by its general.architecture: "gpt2" with
// models/gpt2, the others with models/llama. The tokenizer is in the
// file's metadata, so TokenizerPath is the file itself.
func loadGGUF(path string, opts *LoadOptions) (*CausalLM, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auto: %w", err)
	}
	arch := f.Architecture()
	if arch != "gpt2" {
		f.Close()
		m, err := llama.LoadGGUF(path, &llama.Options{Format: opts.Format, CacheType: opts.CacheType})
		if err != nil {
			return nil, err
		}
		return fromLlama(m, GGUF, path), nil
	}
	cfg, err := gpt2.ConfigFromGGUF(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	lm := &CausalLM{Family: GGUF, BOSTokenID: -1, TokenizerPath: path}
	if tk, err := f.Tokenizer(); err == nil {
		if tk.BOS >= 0 && tk.AddBOS != nil && *tk.AddBOS {
			lm.BOSTokenID = tk.BOS
		}
		if tk.EOS >= 0 {
			lm.EOSTokenIDs = []int{tk.EOS}
		}
	}
	m, err := gpt2.NewInference(cfg, f, &gpt2.InferOptions{Format: opts.Format, CacheType: opts.CacheType.Or(infer.KVF16)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	lm.LM, lm.Model = Wrap(m), m
	return lm, nil
}
