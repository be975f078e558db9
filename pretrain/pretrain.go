// Package pretrain holds the pretraining objectives as train.Tasks —
// MLMTask (BERT's masked LM, with or without next-sentence prediction),
// ElectraTask (replaced-token detection) and CLMTask (GPT-2's causal LM) —
// and assembles them from a corpus and a tokenizer: the packed token file,
// the train/validation split, the model (fresh or continued from a folder)
// and the objective. It is what "glossa pretrain" runs, as a library:
//
//	task, err := pretrain.NewTask(ctx, pretrain.Options{Objective: pretrain.Electra, Corpus: c, Tokenizer: tok, ...})
//	tr, err := train.NewTrainer(task, train.Config{OutDir: "runs/electra", Steps: 1000})
//	res, err := tr.Run(ctx)
//
// The objectives are a GPT-2 causal LM (CLM), BERT's masked LM with
// next-sentence prediction (MLMNSP), the masked LM alone on sentences packed
// up to the block across documents (MLM, RoBERTa's recipe) and ELECTRA's replaced-token detection
// (Electra, Clark et al. 2020), whose discriminator is saved as an
// ElectraForPreTraining folder that fine-tuning loads as a BERT-shaped
// encoder.
package pretrain

import (
	"context"
	"fmt"
	"log/slog"
	"math"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/train"
)

// Objective is a pretraining objective.
type Objective string

// The objectives, spelled as "glossa pretrain --objective" takes them.
const (
	CLM     Objective = "clm"     // GPT-2 causal language model
	MLMNSP  Objective = "mlm-nsp" // BERT masked LM + next-sentence prediction
	MLM     Objective = "mlm"     // masked LM alone on packed sentences (RoBERTa's FULL-SENTENCES)
	Electra Objective = "electra" // ELECTRA: generator MLM + discriminator replaced-token detection
)

// ParseObjective returns the objective named s.
func ParseObjective(s string) (Objective, error) {
	switch o := Objective(s); o {
	case CLM, MLMNSP, MLM, Electra:
		return o, nil
	}
	return "", fmt.Errorf("pretrain: objective must be clm, mlm-nsp, mlm or electra, got %q", s)
}

// Options configure NewTask. Corpus, BlockSize and BatchSize are required,
// and Tokenizer unless Char; zero values of the others are documented.
type Options struct {
	Objective Objective            // zero: CLM
	Corpus    *data.Corpus         // the text
	Tokenizer *tokenizer.Tokenizer // the vocabulary (MLMNSP, MLM and Electra: a WordPiece one with [CLS], [SEP], [MASK], [PAD])
	// Char builds a character vocabulary from the corpus instead of
	// Tokenizer (CLM only); it is saved with the model.
	Char bool
	// TokenizerID identifies the tokenizer in the packed token cache (the
	// bytes of its files); two tokenizers must not share one.
	TokenizerID []byte
	// SaveExtra, if non-nil, writes further files (the tokenizer's) into
	// every folder the model is saved to.
	SaveExtra func(dir string) error
	// CacheDir holds the packed token files (zero: data's default, the
	// user cache folder).
	CacheDir string

	// The architecture of a fresh model (ignored with Init).
	Layers, Width, Heads int
	BlockSize            int // sequence length in tokens
	// EmbeddingSize is ELECTRA's embedding width E, shared by both
	// networks (zero: Width, so that the discriminator has no
	// embeddings_project).
	EmbeddingSize int
	// GeneratorScale is the generator's width, heads and feed-forward
	// size as a fraction of the discriminator's (zero: 1/4, the paper's
	// ELECTRA-Small setting). Its layers are the discriminator's.
	GeneratorScale float64
	// DiscWeight is ELECTRA's λ (zero: 50).
	DiscWeight float64
	// MaskProb is the fraction of tokens masked (zero: 0.15).
	MaskProb float64
	// Dropout is the BERT models' hidden and attention dropout (the causal
	// LM has none).
	Dropout float64
	// WholeWord masks all WordPiece pieces of a word together.
	WholeWord bool

	BatchSize   int     // sequences per micro-batch
	ValFraction float64 // fraction held out for validation (zero: 0.1)
	EvalBlocks  int     // validation sequences per evaluation (zero: all)
	Seed        uint64  // initialisation, data order, masking, sampling
	// Init continues from the weights of this model folder (its config
	// sets the architecture) instead of a fresh initialisation.
	Init string
	BF16 bool // CLM and MLM+NSP: bfloat16 mixed precision
	// Logger receives progress messages (nil: none).
	Logger *slog.Logger
}

// NewTask builds the task of o.Objective.
func NewTask(ctx context.Context, o Options) (train.Task, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	switch o.Objective {
	case MLMNSP, MLM, Electra:
		return newBERTTask(ctx, &o)
	}
	return newCLMTask(ctx, &o)
}

func (o *Options) check() error {
	if o.Objective == "" {
		o.Objective = CLM
	}
	if o.ValFraction == 0 {
		o.ValFraction = 0.1
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := ParseObjective(string(o.Objective)); err != nil {
		return err
	}
	switch {
	case o.Corpus == nil:
		return fmt.Errorf("pretrain: no corpus")
	case o.Char && o.Objective != CLM:
		return fmt.Errorf("pretrain: a character vocabulary works with the clm objective only")
	case o.BF16 && o.Objective == Electra:
		return fmt.Errorf("pretrain: bf16 works with the clm, mlm-nsp and mlm objectives only")
	case o.Tokenizer == nil && !o.Char:
		return fmt.Errorf("pretrain: no tokenizer")
	case o.BatchSize <= 0 || o.BlockSize <= 1:
		return fmt.Errorf("pretrain: batch size %d must be positive and block size %d > 1", o.BatchSize, o.BlockSize)
	case o.Init == "" && (o.Layers <= 0 || o.Width <= 0 || o.Heads <= 0 || o.Width%o.Heads != 0):
		return fmt.Errorf("pretrain: layers %d, width %d, heads %d: all must be positive and heads must divide width", o.Layers, o.Width, o.Heads)
	case o.ValFraction <= 0 || o.ValFraction >= 1:
		return fmt.Errorf("pretrain: validation fraction %g outside (0, 1)", o.ValFraction)
	case o.EmbeddingSize < 0 || o.GeneratorScale < 0 || o.GeneratorScale > 1 || o.DiscWeight < 0 || math.IsInf(o.DiscWeight, 0):
		return fmt.Errorf("pretrain: embedding size %d, generator scale %g (in (0, 1]), discriminator weight %g", o.EmbeddingSize, o.GeneratorScale, o.DiscWeight)
	case o.Dropout < 0 || o.Dropout >= 1 || o.MaskProb < 0 || o.MaskProb >= 1:
		return fmt.Errorf("pretrain: dropout %g and mask probability %g must be in [0, 1)", o.Dropout, o.MaskProb)
	}
	return nil
}

// checkInit checks that an Init model fits the run: the tokenizer's
// vocabulary must be the model's and the block must fit its positions.
func (o *Options) checkInit(modelVocab, tokVocab, maxPos int) error {
	if modelVocab != tokVocab {
		return fmt.Errorf("pretrain: init %s: the model has a vocabulary of %d, the tokenizer %d: continue with the tokenizer the model was trained with", o.Init, modelVocab, tokVocab)
	}
	if o.BlockSize > maxPos {
		return fmt.Errorf("pretrain: init %s: block size %d exceeds the model's %d positions", o.Init, o.BlockSize, maxPos)
	}
	return nil
}

// SpellsNewline reports whether tok encodes "\n" between words as tokens
// that decode back to it (byte-level BPE does; WordPiece drops whitespace).
func SpellsNewline(tok *tokenizer.Tokenizer) bool {
	const probe = "one\ntwo"
	enc, err := tok.Encode(probe)
	if err != nil {
		return false
	}
	text, err := tok.Decode(enc.IDs, true)
	return err == nil && text == probe
}
