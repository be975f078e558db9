package pretrain

import (
	"context"
	"fmt"
	"math"
	"path/filepath"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// newBERTTask builds a BERT-family task (MLMNSP, MLM or Electra): packed
// token file (one segment per sentence, documents split at blank lines),
// documents split into train/validation, sequences (sentence pairs for
// NSP, packed sentences for MLM and ELECTRA), masking, models.
func newBERTTask(ctx context.Context, o *Options) (train.Task, error) {
	tok, logger := o.Tokenizer, o.Logger
	special := map[string]int32{}
	for _, name := range []string{"[CLS]", "[SEP]", "[MASK]", "[PAD]"} {
		id, ok := tok.TokenToID(name)
		if !ok {
			return nil, fmt.Errorf("pretrain: the tokenizer has no %s token: %s needs a BERT (WordPiece) vocabulary", name, o.Objective)
		}
		special[name] = int32(id)
	}
	tf, stats, err := data.BuildTokenFile(ctx, o.Corpus, data.TokenizerEncoder(tok), data.TokenizeOptions{
		Docs: data.DocBlankLine, Sentences: true, VocabSize: tok.VocabSize(), TokenizerID: o.TokenizerID,
		CacheDir: o.CacheDir, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	logger.Info("tokens", "file", stats.Path, "cached", stats.Cached, "tokens", tf.Len(), "sentences", stats.Segments, "docs", stats.Docs)
	docs := tf.Documents()
	if len(docs) < 4 {
		return nil, fmt.Errorf("pretrain: corpus has %d documents (blank-line separated); need at least 2 for training and 2 for validation", len(docs))
	}
	trainDocs, valDocs, err := data.SplitTrainVal(docs, o.ValFraction, o.Seed)
	if err != nil {
		return nil, err
	}
	if len(valDocs) < 2 {
		valDocs, trainDocs = docs[len(docs)-2:], docs[:len(docs)-2]
	}
	T := o.BlockSize
	var examples, evalEx []data.PretrainExample
	if o.Objective == Electra || o.Objective == MLM {
		// MLM and ELECTRA read contiguous text: sentences packed up to the block,
		// across document boundaries (RoBERTa's FULL-SENTENCES), so that
		// short documents do not leave most of a block to padding.
		if examples, err = data.PackSentences(joinDocs(trainDocs), T, special["[CLS]"], special["[SEP]"]); err != nil {
			return nil, err
		}
		evalEx, err = data.PackSentences(joinDocs(valDocs), T, special["[CLS]"], special["[SEP]"])
	} else {
		nspOpts := data.NSPOptions{MaxSeqLen: T, CLS: special["[CLS]"], SEP: special["[SEP]"]}
		if examples, err = data.CreateNSPInstances(trainDocs, nspOpts, o.Seed); err != nil {
			return nil, err
		}
		evalEx, err = data.CreateNSPInstances(valDocs, nspOpts, o.Seed+1)
	}
	if err != nil {
		return nil, err
	}
	if len(examples) == 0 || len(evalEx) == 0 {
		return nil, fmt.Errorf("pretrain: %d training and %d validation sequences: the corpus is too small", len(examples), len(evalEx))
	}
	if o.EvalBlocks > 0 && len(evalEx) > o.EvalBlocks {
		evalEx = evalEx[:o.EvalBlocks]
	}
	if len(examples) < o.BatchSize {
		logger.Warn("fewer training sequences than one batch; they repeat within each batch", "sequences", len(examples), "batch", o.BatchSize)
	}
	masker, err := data.NewMasker(data.MaskOptions{Prob: o.MaskProb, MaskID: special["[MASK]"], VocabSize: tok.VocabSize(),
		Special: data.SpecialIDs(tok), Continuation: data.ContinuationIDs(tok, "##"), WholeWord: o.WholeWord})
	if err != nil {
		return nil, err
	}
	cfg := bert.Config{ModelType: "bert", VocabSize: tok.VocabSize(), HiddenSize: o.Width, NumLayers: o.Layers,
		NumHeads: o.Heads, Intermediate: 4 * o.Width, MaxPositions: T, TypeVocab: 2, HiddenAct: "gelu",
		HiddenDropout: o.Dropout, AttentionDropout: o.Dropout, PadTokenID: int(special["[PAD]"])}
	logger.Info("sequences", "train", len(examples), "eval", len(evalEx), "length", T)
	if o.Objective == Electra {
		return newElectraTask(o, cfg, examples, evalEx, masker, special["[PAD]"])
	}
	var model *bert.ForPreTraining
	if o.Init != "" {
		model, err = bert.LoadForPreTraining(o.Init)
		if err != nil {
			return nil, err
		}
		model.Bert.SetDropout(o.Dropout, o.Dropout)
		cfg = model.Bert.Config
		if err := o.checkInit(cfg.VocabSize, tok.VocabSize(), cfg.MaxPositions); err != nil {
			return nil, err
		}
		logger.Info("init", "from", o.Init)
	} else if model, err = bert.NewForPreTraining(cfg, tensor.NewRNG(o.Seed)); err != nil {
		return nil, err
	}
	logger.Info("model", "arch", "bert", "layers", cfg.NumLayers, "width", cfg.HiddenSize, "seq", T)
	task, err := NewMLMTask(model, examples, masker, MLMOptions{BatchSize: o.BatchSize, MaxLen: T,
		Seed: o.Seed, PadID: special["[PAD]"], Eval: evalEx, BF16: o.BF16})
	if err != nil {
		return nil, err
	}
	task.SaveExtra = o.SaveExtra
	return task, nil
}

// joinDocs returns the sentences of docs as one document, in order.
func joinDocs(docs [][][]int32) [][][]int32 {
	var all [][]int32
	for _, d := range docs {
		all = append(all, d...)
	}
	return [][][]int32{all}
}

// GeneratorConfig returns the ELECTRA generator's configuration for a
// discriminator's: the same layers, embeddings and vocabulary; width, heads
// and feed-forward size scaled by scale (at least one head, the width a
// multiple of the heads).
func GeneratorConfig(disc bert.Config, scale float64) bert.Config {
	g := disc
	g.Architectures = nil
	g.NumHeads = max(1, int(math.Round(float64(disc.NumHeads)*scale)))
	d := max(1, int(math.Round(float64(disc.HiddenSize)*scale/float64(g.NumHeads))))
	g.HiddenSize = d * g.NumHeads
	g.Intermediate = max(1, int(math.Round(float64(disc.Intermediate)*scale)))
	g.EmbeddingSize = disc.EmbedDim()
	return g
}

// newElectraTask builds the ELECTRA generator and discriminator (fresh,
// or continued from an ELECTRA run's folder and its generator/) and their
// task.
func newElectraTask(o *Options, cfg bert.Config, examples, evalEx []data.PretrainExample, masker *data.Masker, pad int32) (train.Task, error) {
	cfg.ModelType = "electra"
	cfg.EmbeddingSize = o.EmbeddingSize
	scale := o.GeneratorScale
	if scale == 0 {
		scale = 0.25
	}
	var (
		disc *bert.ElectraDiscriminator
		gen  *bert.ElectraGenerator
		err  error
	)
	if o.Init != "" {
		if disc, err = bert.LoadElectraDiscriminator(o.Init); err != nil {
			return nil, err
		}
		if gen, err = bert.LoadElectraGenerator(filepath.Join(o.Init, GeneratorDir)); err != nil {
			return nil, fmt.Errorf("pretrain: init %s: ELECTRA continues from a folder with its generator: %w", o.Init, err)
		}
		disc.Electra.SetDropout(o.Dropout, o.Dropout)
		gen.Electra.SetDropout(o.Dropout, o.Dropout)
		cfg = disc.Electra.Config
		if err := o.checkInit(cfg.VocabSize, o.Tokenizer.VocabSize(), cfg.MaxPositions); err != nil {
			return nil, err
		}
		o.Logger.Info("init", "from", o.Init)
	} else {
		rng := tensor.NewRNG(o.Seed)
		if disc, err = bert.NewElectraDiscriminator(cfg, rng); err != nil {
			return nil, err
		}
		if gen, err = bert.NewElectraGenerator(GeneratorConfig(disc.Electra.Config, scale), rng); err != nil {
			return nil, err
		}
	}
	g := gen.Electra.Config
	o.Logger.Info("model", "arch", "electra", "layers", cfg.NumLayers, "width", cfg.HiddenSize, "embedding", cfg.EmbedDim(),
		"generator_width", g.HiddenSize, "generator_heads", g.NumHeads, "seq", o.BlockSize)
	task, err := NewElectraTask(gen, disc, examples, masker, ElectraOptions{BatchSize: o.BatchSize,
		MaxLen: o.BlockSize, Seed: o.Seed, PadID: pad, DiscWeight: o.DiscWeight, Eval: evalEx})
	if err != nil {
		return nil, err
	}
	task.SaveExtra = o.SaveExtra
	return task, nil
}
