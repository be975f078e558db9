package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/tokenizer/bpe"
	"github.com/glossa-ai/glossa/tokenizer/unigram"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
)

const tokenizerTrainUsage = "Usage: glossa tokenizer train --type bpe|wordpiece|unigram --vocab-size N [--min-frequency F] [--special-tokens A,B] --out DIR FILES..."

// runTokenizerTool implements "glossa tokenizer train".
func runTokenizerTool(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "train" {
		fmt.Fprintln(stderr, tokenizerTrainUsage)
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: unknown tokenizer tool %q (want train)", errUsage, args[0])
	}
	fs := newFlagSet("tokenizer train", stderr)
	typ := fs.String("type", "", "vocabulary model: bpe (GPT-2 byte-level), wordpiece (BERT) or unigram (SentencePiece, as T5 and Marian)")
	vocabSize := fs.Int("vocab-size", 0, "vocabulary size, special tokens included")
	minFreq := fs.Int("min-frequency", 0, "bpe, wordpiece: merge only pairs seen at least this often (0: 2)")
	specials := fs.String("special-tokens", "", `comma-separated special tokens (default: wordpiece "[PAD],[UNK],[CLS],[SEP],[MASK]", bpe "<|endoftext|>", unigram "<unk>,<s>,</s>")`)
	cased := fs.Bool("cased", false, "wordpiece: keep letter case and accents")
	userDefined := fs.String("user-defined", "", "unigram: comma-separated pieces always kept whole")
	byteFallback := fs.Bool("byte-fallback", false, "unigram: add the 256 byte pieces so that no character is unknown")
	normalization := fs.String("normalization", "nfkc", "unigram: text normalization, nfkc (sentencepiece's nmt_nfkc) or identity")
	out := fs.String("out", "", "output folder (created if missing)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(stderr, tokenizerTrainUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return flagError(err)
	}
	files := fs.Args()
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *typ != "bpe" && *typ != "wordpiece" && *typ != "unigram":
		return fmt.Errorf("%w: --type must be bpe, wordpiece or unigram, got %q", errUsage, *typ)
	case *vocabSize <= 0:
		return fmt.Errorf("%w: --vocab-size must be positive", errUsage)
	case *minFreq < 0:
		return fmt.Errorf("%w: --min-frequency must not be negative", errUsage)
	case *out == "":
		return fmt.Errorf("%w: --out is required", errUsage)
	case len(files) == 0:
		return fmt.Errorf("%w: no corpus FILES given", errUsage)
	case *typ == "unigram" && (set["min-frequency"] || set["cased"]):
		return fmt.Errorf("%w: --min-frequency and --cased do not apply to unigram", errUsage)
	case *typ != "unigram" && (set["user-defined"] || set["byte-fallback"] || set["normalization"]):
		return fmt.Errorf("%w: --user-defined, --byte-fallback and --normalization apply to unigram only", errUsage)
	}
	var norm unigram.Normalization
	switch *normalization {
	case "nfkc":
		norm = unigram.NFKC
	case "identity":
		norm = unigram.Identity
	default:
		return fmt.Errorf("%w: --normalization must be nfkc or identity, got %q", errUsage, *normalization)
	}
	specialList, userList := splitList(*specials), splitList(*userDefined)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	bar := newProgress(stderr, *quiet)
	defer bar.finish()
	switch *typ {
	case "wordpiece":
		opt := wordpiece.TrainOptions{
			VocabSize: *vocabSize, MinFrequency: *minFreq, SpecialTokens: specialList,
			Progress: func(p wordpiece.TrainProgress) { bar.update(p.Stage, p.Done, p.Total) },
		}
		if *cased {
			opt.Model = wordpiece.Options{Cased: true}
		}
		m, err := wordpiece.TrainFiles(ctx, files, opt)
		if err != nil {
			return err
		}
		bar.finish()
		if err := m.SaveDir(*out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s and %s (%d tokens)\n",
			filepath.Join(*out, "tokenizer.json"), filepath.Join(*out, "vocab.txt"), m.VocabSize())
	case "bpe":
		if specialList == nil {
			specialList = []string{bpe.EndOfText}
		}
		m, err := bpe.TrainFiles(ctx, files, bpe.TrainOptions{
			VocabSize: *vocabSize, MinFrequency: *minFreq, SpecialTokens: specialList,
			Progress: func(p bpe.TrainProgress) { bar.update(p.Stage, p.Done, p.Total) },
		})
		if err != nil {
			return err
		}
		bar.finish()
		dst := filepath.Join(*out, "tokenizer.json")
		if err := writeFileAtomic(dst, m.WriteTokenizerJSON); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (%d tokens)\n", dst, m.VocabSize())
	case "unigram":
		m, err := unigram.TrainFiles(ctx, files, unigram.TrainOptions{
			VocabSize: *vocabSize, SpecialTokens: specialList, UserDefined: userList,
			ByteFallback: *byteFallback, Normalization: norm,
			Progress: func(p unigram.TrainProgress) {
				stage := p.Stage
				if stage == "em" {
					stage = "EM and pruning rounds"
				}
				bar.update(stage, p.Done, p.Total)
			},
		})
		if err != nil {
			return err
		}
		bar.finish()
		if err := m.SaveDir(*out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s, tokenizer.vocab and tokenizer.json (%d pieces)\n", filepath.Join(*out, "tokenizer.model"), m.VocabSize())
	}
	return nil
}
