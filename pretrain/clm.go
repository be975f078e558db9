package pretrain

import (
	"context"
	"fmt"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/models/gpt2"
	"github.com/glossa-ai/glossa/tensor"
	"github.com/glossa-ai/glossa/train"
)

// newCLMTask builds the GPT-2 causal-LM task: vocabulary, packed token
// file, train/validation split, model.
func newCLMTask(ctx context.Context, o *Options) (train.Task, error) {
	var (
		enc     data.Encoder
		vocab   int
		tokID   = o.TokenizerID
		save    = o.SaveExtra
		keepNLs bool
	)
	logger := o.Logger
	if o.Char {
		cv, err := BuildCharVocab(ctx, o.Corpus)
		if err != nil {
			return nil, err
		}
		js, err := cv.MarshalJSON()
		if err != nil {
			return nil, err
		}
		enc, vocab, tokID, keepNLs = cv, cv.VocabSize(), js, true
		extra := o.SaveExtra
		save = func(dir string) error {
			if err := cv.Save(dir); err != nil {
				return err
			}
			if extra != nil {
				return extra(dir)
			}
			return nil
		}
		logger.Info("character vocabulary", "size", vocab)
	} else {
		enc, vocab = data.TokenizerEncoder(o.Tokenizer), o.Tokenizer.VocabSize()
		// A tokenizer that can spell a line break (byte-level BPE) learns
		// the text's layout too, so that generated text has lines; one
		// that cannot (WordPiece drops whitespace) sees lines joined.
		keepNLs = SpellsNewline(o.Tokenizer)
		logger.Info("line breaks", "kept", keepNLs)
	}
	tf, stats, err := data.BuildTokenFile(ctx, o.Corpus, enc, data.TokenizeOptions{
		Docs: data.DocFile, KeepNewlines: keepNLs, VocabSize: vocab, TokenizerID: tokID,
		CacheDir: o.CacheDir, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	logger.Info("tokens", "file", stats.Path, "cached", stats.Cached, "tokens", tf.Len(), "docs", stats.Docs)
	T := o.BlockSize
	if tf.Len() < 2*(T+1) {
		return nil, fmt.Errorf("pretrain: corpus has %d tokens, fewer than two blocks of %d+1 (one to train, one to validate): use more text or a smaller block size", tf.Len(), T)
	}
	trainSrc, valSrc, err := data.SplitTokens(tf, o.ValFraction, T+1)
	if err != nil {
		return nil, fmt.Errorf("pretrain: train/validation split of %d tokens with blocks of %d+1: %w (raise the validation fraction or lower the block size)", tf.Len(), T, err)
	}
	evalBlocks, err := data.EvalBlocks(valSrc, T, o.EvalBlocks)
	if err != nil {
		return nil, err
	}
	cfg := gpt2.Config{VocabSize: vocab, NumPos: T, NumEmbd: o.Width, NumLayer: o.Layers, NumHead: o.Heads,
		ActivationFunction: "gelu_new"}
	var model *gpt2.Model
	if o.Init != "" {
		model, err = gpt2.Load(o.Init)
		if err != nil {
			return nil, err
		}
		cfg = model.Config
		if err := o.checkInit(cfg.VocabSize, vocab, cfg.NumPos); err != nil {
			return nil, err
		}
		logger.Info("init", "from", o.Init)
	} else if model, err = gpt2.New(cfg, tensor.NewRNG(o.Seed)); err != nil {
		return nil, err
	}
	logger.Info("model", "arch", "gpt2", "params", cfg.NumParams(), "layers", cfg.NumLayer, "width", cfg.NumEmbd, "block", T)
	task, err := NewCLMTask(model, trainSrc, CLMOptions{BatchSize: o.BatchSize, Seed: o.Seed, Eval: evalBlocks, BF16: o.BF16})
	if err != nil {
		return nil, err
	}
	task.SaveExtra = save
	return task, nil
}
