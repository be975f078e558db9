package auto

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/models/bert"
)

// Encoder is a loaded bidirectional encoder: package bert's Encoder (which
// runs all four families) and where its tokenizer lives. Like every loaded
// model it is immutable and safe for concurrent use.
type Encoder struct {
	*bert.Encoder

	// Family is the architecture that was loaded.
	Family Family
	// Dir is the model folder.
	Dir string
	// TokenizerPath is the folder holding the model's tokenizer, for
	// tokenizer/auto.Load; "" when none was found beside the model.
	TokenizerPath string
}

// encoderFamilies are the families LoadEncoder can load.
var encoderFamilies = []Family{BERT, DistilBERT, RoBERTa, XLMRoBERTa, ELECTRA}

// LoadEncoder loads an encoder from a Hugging Face folder (or its
// config.json) whose config names BERT, DistilBERT, RoBERTa, XLM-RoBERTa or ELECTRA,
// with the heads opts asks for (nil or zero Heads: every head the
// checkpoint holds, classifier tensors read as the architectures say). Any
// other architecture fails with an *UnsupportedError naming it.
func LoadEncoder(path string, opts *bert.EncoderOptions) (*Encoder, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("auto: %w", err)
	}
	if !st.IsDir() {
		if filepath.Base(path) == "config.json" {
			return LoadEncoder(filepath.Dir(path), opts)
		}
		return nil, fmt.Errorf("auto: %s is not a model folder", path)
	}
	cfg, err := SniffConfig(path)
	if err != nil {
		return nil, err
	}
	f := cfg.Family()
	switch f {
	case BERT, DistilBERT, RoBERTa, XLMRoBERTa, ELECTRA:
	case Unknown:
		if cfg.ModelType == "" && len(cfg.Architectures) == 0 {
			f = BERT // a hand-written BERT config
			break
		}
		fallthrough
	default:
		return nil, fmt.Errorf("%s: %w", path, &UnsupportedError{Task: "encoder", Arch: cfg.name(), Supported: encoderFamilies})
	}
	e, err := bert.LoadEncoder(path, opts)
	if err != nil {
		return nil, err
	}
	return &Encoder{Encoder: e, Family: f, Dir: path, TokenizerPath: folderTokenizer(path, tokenizerFiles)}, nil
}
