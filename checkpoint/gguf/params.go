package gguf

import "math"

// KeyArchitecture names the model architecture ("llama", "qwen2", …); the
// hyperparameters live under keys prefixed with it.
const KeyArchitecture = "general.architecture"

// Architecture returns general.architecture ("" when absent).
func (f *File) Architecture() string {
	s, _ := f.String(KeyArchitecture)
	return s
}

// ArchKey returns the key of an architecture hyperparameter:
// ArchKey("block_count") is "llama.block_count" in a llama file.
func (f *File) ArchKey(suffix string) string { return f.Architecture() + "." + suffix }

// LlamaParams holds the hyperparameters of a Llama-family decoder (llama,
// mistral, qwen2 and others that share llama.cpp's {arch}.* keys), as
// stored; the package interprets nothing beyond the documented defaults.
type LlamaParams struct {
	Architecture       string  // general.architecture
	ContextLength      int     // {arch}.context_length: the training context
	EmbeddingLength    int     // {arch}.embedding_length: the model width
	BlockCount         int     // {arch}.block_count: transformer layers
	FeedForwardLength  int     // {arch}.feed_forward_length: the MLP's hidden width
	HeadCount          int     // {arch}.attention.head_count
	HeadCountKV        int     // {arch}.attention.head_count_kv; HeadCount when absent (no grouped-query attention)
	RMSNormEpsilon     float32 // {arch}.attention.layer_norm_rms_epsilon
	RopeFreqBase       float32 // {arch}.rope.freq_base; 10000 when absent
	RopeDimensionCount int     // {arch}.rope.dimension_count; EmbeddingLength/HeadCount when absent
	// VocabSize is {arch}.vocab_size, or the length of tokenizer.ggml.tokens
	// when absent (0 when neither exists).
	VocabSize int
}

// LlamaParams reads the Llama-family hyperparameters of the file's
// architecture. A missing required key fails with an error matching
// ErrMissingKey, a key of the wrong type or a value out of range with one
// matching checkpoint.ErrFormat; both name the key.
func (f *File) LlamaParams() (LlamaParams, error) {
	p := LlamaParams{Architecture: f.Architecture()}
	if p.Architecture == "" {
		if _, ok := f.Value(KeyArchitecture); ok {
			return p, &Error{File: f.path, Key: KeyArchitecture, Err: formatf("not a non-empty STRING")}
		}
		return p, &Error{File: f.path, Key: KeyArchitecture, Err: ErrMissingKey}
	}
	var err error
	count := func(dst *int, suffix string, required bool) {
		if err != nil {
			return
		}
		key := f.ArchKey(suffix)
		v, ok := f.Value(key)
		if !ok {
			if required {
				err = &Error{File: f.path, Key: key, Err: ErrMissingKey}
			}
			return
		}
		x, ok := v.Int()
		switch {
		case !ok:
			err = &Error{File: f.path, Key: key, Err: wrongType(v, "an integer")}
		case x <= 0 || x > math.MaxInt32:
			err = &Error{File: f.path, Key: key, Err: formatf("%d is out of range", x)}
		default:
			*dst = int(x)
		}
	}
	float := func(dst *float32, suffix string, required bool) {
		if err != nil {
			return
		}
		key := f.ArchKey(suffix)
		v, ok := f.Value(key)
		if !ok {
			if required {
				err = &Error{File: f.path, Key: key, Err: ErrMissingKey}
			}
			return
		}
		x, ok := v.Float()
		if !ok || !isFloat(v.typ) {
			err = &Error{File: f.path, Key: key, Err: wrongType(v, "FLOAT32")}
			return
		}
		*dst = float32(x)
	}
	count(&p.ContextLength, "context_length", true)
	count(&p.EmbeddingLength, "embedding_length", true)
	count(&p.BlockCount, "block_count", true)
	count(&p.FeedForwardLength, "feed_forward_length", true)
	count(&p.HeadCount, "attention.head_count", true)
	count(&p.HeadCountKV, "attention.head_count_kv", false)
	count(&p.RopeDimensionCount, "rope.dimension_count", false)
	count(&p.VocabSize, "vocab_size", false)
	float(&p.RMSNormEpsilon, "attention.layer_norm_rms_epsilon", true)
	float(&p.RopeFreqBase, "rope.freq_base", false)
	if err != nil {
		return p, err
	}
	if p.HeadCountKV == 0 {
		p.HeadCountKV = p.HeadCount
	}
	if p.RopeFreqBase == 0 {
		p.RopeFreqBase = 10000
	}
	if p.RopeDimensionCount == 0 {
		p.RopeDimensionCount = p.EmbeddingLength / p.HeadCount
	}
	if p.VocabSize == 0 {
		if v, ok := f.Value(KeyTokens); ok {
			p.VocabSize = v.Len()
		}
	}
	return p, nil
}
