package auto

import (
	"fmt"
	"path/filepath"

	"github.com/glossa-ai/glossa/models/seq2seq"
)

// seq2seqFamilies are the families LoadSeq2Seq can load.
var seq2seqFamilies = []Family{Marian, BART, T5}

// Seq2Seq is a loaded encoder-decoder model with what translation or
// summarization needs besides the weights.
type Seq2Seq struct {
	*seq2seq.Model
	// TokenizerPath is the folder holding the model's tokenizer files
	// (tokenizer.json, spiece.model, source.spm / target.spm), for the
	// tokenizer packages; "" when none was found beside the model.
	TokenizerPath string
}

// seq2seqTokenizerFiles are the tokenizer files of hub encoder-decoders.
var seq2seqTokenizerFiles = []string{"tokenizer.json", "spiece.model", "source.spm", "target.spm", "vocab.json"}

// LoadSeq2Seq loads an encoder-decoder model from a Hugging Face folder (or
// its config.json) whose config names Marian, BART or T5. Another
// architecture fails with an *UnsupportedError. opts may be nil (float32
// weights).
func LoadSeq2Seq(path string, opts *LoadOptions) (*Seq2Seq, error) {
	if opts == nil {
		opts = &LoadOptions{}
	}
	if filepath.Base(path) == "config.json" {
		path = filepath.Dir(path)
	}
	cfg, err := SniffConfig(path)
	if err != nil {
		return nil, err
	}
	switch cfg.Family() {
	case Marian, BART, T5:
	default:
		return nil, fmt.Errorf("%s: %w", path, &UnsupportedError{Task: "sequence-to-sequence model", Arch: cfg.name(), Supported: seq2seqFamilies})
	}
	m, err := seq2seq.Load(path, &seq2seq.Options{Format: opts.Format})
	if err != nil {
		return nil, err
	}
	return &Seq2Seq{Model: m, TokenizerPath: folderTokenizer(path, seq2seqTokenizerFiles)}, nil
}
