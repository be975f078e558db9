package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/pipeline"
)

// runFillMask predicts the mask tokens of one or more texts with a masked
// language model: the fill-mask pipeline, printed for reading (or as JSON).
func runFillMask(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fill-mask", stderr)
	modelDir := fs.String("model", "", "masked LM (BertForMaskedLM, RobertaForMaskedLM, …): a folder or ORG/NAME[@REVISION] on the Hub (cache first, else downloaded)")
	tokPath := fs.String("tokenizer", "", "tokenizer folder or file (default: the model folder)")
	topK := fs.Int("top-k", 5, "predictions to print per mask")
	asJSON := fs.Bool("json", false, "print one JSON object per text")
	dtype := fs.String("dtype", "f32", "weight format: f32, or bf16 (bfloat16 matrices and embeddings)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: glossa fill-mask --model DIR [--tokenizer PATH] [--top-k 5] [--dtype f32|bf16] [--json] "the cat sat on the [MASK]." ...`)
		fmt.Fprintln(stderr, "\nThe fill-mask pipeline (glossa pipeline fill-mask prints Hugging Face's JSON).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *modelDir == "":
		return fmt.Errorf("%w: --model is required", errUsage)
	case fs.NArg() == 0:
		return fmt.Errorf("%w: no text given", errUsage)
	case *topK < 1:
		return fmt.Errorf("%w: --top-k must be at least 1", errUsage)
	}
	format, err := infer.ParseFormat(*dtype)
	if err != nil {
		return fmt.Errorf("%w: --dtype: %v", errUsage, err)
	}
	dir, err := resolveModel(ctx, *modelDir, stderr)
	if err != nil {
		return err
	}
	p, err := pipeline.LoadFillMask(ctx, dir, &pipeline.Options{Format: format, Tokenizer: *tokPath})
	if err != nil {
		return err
	}
	texts := fs.Args()
	out, err := p.Run(ctx, texts, &pipeline.FillMaskOptions{TopK: *topK})
	if err != nil {
		return err
	}
	for i, masks := range out {
		if *asJSON {
			b, err := json.Marshal(map[string]any{"text": texts[i], "masks": [][]pipeline.FillMaskResult(masks)})
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
			continue
		}
		fmt.Fprintln(stdout, texts[i])
		for k, preds := range masks {
			if len(masks) > 1 {
				fmt.Fprintf(stdout, "%s %d of %d:\n", p.MaskToken(), k+1, len(masks))
			}
			for _, r := range preds {
				fmt.Fprintf(stdout, "  %.4f  %-12s %s\n", r.Score, r.TokenStr, r.Sequence)
			}
		}
	}
	return nil
}
