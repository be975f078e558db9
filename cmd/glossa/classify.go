package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/pipeline"
)

const classifyUsage = `Usage: glossa classify --model DIR [flags] TEXT...

Classifies each TEXT with a sequence classifier (a BertForSequenceClassification
folder, as "glossa finetune" writes or Hugging Face saves; RoBERTa and
DistilBERT classifiers too) and prints, per text, the most probable label and
its probability (--all: every class). It is the text-classification pipeline
(glossa pipeline text-classification prints Hugging Face's JSON).`

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
	format, err := infer.ParseFormat(*dtype)
	if err != nil {
		return fmt.Errorf("%w: --dtype: %v", errUsage, err)
	}
	p, err := pipeline.LoadTextClassification(ctx, *modelDir, &pipeline.Options{Format: format, Tokenizer: *tokPath})
	if err != nil {
		return err
	}
	inputs := make([]pipeline.TextInput, len(texts))
	for i, t := range texts {
		inputs[i] = pipeline.TextInput{Text: t, TextPair: *pair}
	}
	out, err := p.Run(ctx, inputs, &pipeline.TextClassificationOptions{TopK: pipeline.AllLabels, Truncation: true, MaxLength: *maxLen})
	if err != nil {
		return err
	}
	for i, s := range out {
		if !*all {
			s = s[:1]
		}
		if *asJSON {
			type scored struct {
				Label string  `json:"label"`
				Prob  float64 `json:"probability"`
			}
			ss := make([]scored, len(s))
			for k, c := range s {
				ss[k] = scored{c.Label, c.Score}
			}
			b, err := json.Marshal(map[string]any{"text": texts[i], "label": s[0].Label, "probability": s[0].Score, "scores": ss})
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
			continue
		}
		fmt.Fprintf(stdout, "%s\t%.4f\t%s\n", s[0].Label, s[0].Score, texts[i])
		for _, o := range s[1:] {
			fmt.Fprintf(stdout, "\t%s\t%.4f\n", o.Label, o.Score)
		}
	}
	return nil
}
