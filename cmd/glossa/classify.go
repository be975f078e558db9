package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/train"
)

const classifyUsage = `Usage: glossa classify --model DIR [flags] TEXT...

Classifies each TEXT with a sequence classifier (a BertForSequenceClassification
folder, as "glossa finetune" writes or Hugging Face saves) and prints, per
text, the most probable label and its probability (--all: every class).`

func runClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("classify", stderr)
	modelDir := fs.String("model", "", "classifier folder (required)")
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: the one in --model)")
	pair := fs.String("pair", "", "second text of a pair task, used with every TEXT")
	maxLen := fs.Int("max-len", 128, "truncate texts to this many tokens, specials included")
	all := fs.Bool("all", false, "print the probability of every class, most probable first")
	asJSON := fs.Bool("json", false, "print one JSON object per text")
	dtype := fs.String("dtype", "f32", "weight format: f32, or bf16 (bfloat16 matrices and embeddings)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, classifyUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	texts := fs.Args()
	if *modelDir == "" || len(texts) == 0 {
		return fmt.Errorf("%w: --model and at least one TEXT are required", errUsage)
	}
	if *maxLen < 3 {
		return fmt.Errorf("%w: --max-len must be at least 3", errUsage)
	}
	model, lm, err := loadClassifier(*modelDir, *dtype)
	if err != nil {
		return err
	}
	tok, _, err := loadTokenizer(*tokPath, *modelDir)
	if err != nil {
		return err
	}
	ex := make([]data.Example, len(texts))
	for i, t := range texts {
		ex[i] = data.Example{Text: t, Pair: *pair}
	}
	enc, err := data.EncodeClassification(tok, ex, nil, min(*maxLen, model.Config.MaxPositions))
	if err != nil {
		return err
	}
	probs, err := train.Predict(ctx, model, nil, enc, 32, padID(tok))
	if err != nil {
		return err
	}
	type scored struct {
		Label string  `json:"label"`
		Prob  float64 `json:"probability"`
	}
	for i, p := range probs {
		s := make([]scored, len(p))
		for c, v := range p {
			s[c] = scored{lm.Label(c), float64(v)}
		}
		slices.SortStableFunc(s, func(a, b scored) int {
			switch {
			case a.Prob > b.Prob:
				return -1
			case a.Prob < b.Prob:
				return 1
			}
			return 0
		})
		if !*all {
			s = s[:1]
		}
		if *asJSON {
			b, err := json.Marshal(map[string]any{"text": texts[i], "label": s[0].Label, "probability": s[0].Prob, "scores": s})
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
			continue
		}
		fmt.Fprintf(stdout, "%s\t%.4f\t%s\n", s[0].Label, s[0].Prob, texts[i])
		for _, o := range s[1:] {
			fmt.Fprintf(stdout, "\t%s\t%.4f\n", o.Label, o.Prob)
		}
	}
	return nil
}
