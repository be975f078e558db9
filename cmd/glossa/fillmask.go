package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/kernels"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer/auto"
)

// runFillMask predicts the [MASK] tokens of one or more texts with a BERT
// masked language model, like Hugging Face's fill-mask pipeline.
func runFillMask(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fill-mask", stderr)
	modelDir := fs.String("model", "", "BertForMaskedLM or BertForPreTraining: a folder (config.json + model.safetensors) or ORG/NAME[@REVISION] on the Hub (cache first, else downloaded)")
	tokPath := fs.String("tokenizer", "", "tokenizer folder or file (default: the model folder)")
	topK := fs.Int("top-k", 5, "predictions to print per [MASK]")
	asJSON := fs.Bool("json", false, "print one JSON object per text")
	dtype := fs.String("dtype", "f32", "weight format: f32, or bf16 (bfloat16 matrices and embeddings)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: glossa fill-mask --model DIR [--tokenizer PATH] [--top-k 5] [--dtype f32|bf16] [--json] "the cat sat on the [MASK]." ...`)
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
	*modelDir = dir
	if *tokPath == "" {
		*tokPath = *modelDir
	}
	tok, err := auto.Load(*tokPath)
	if err != nil {
		return err
	}
	model, err := bert.LoadEncoder(*modelDir, &bert.EncoderOptions{Format: format, Heads: bert.HeadMLM})
	if err != nil {
		return err
	}
	cfg := model.Config
	maskID, ok := tok.TokenToID("[MASK]")
	if !ok {
		return fmt.Errorf("tokenizer has no [MASK] token")
	}
	if tok.VocabSize() > cfg.VocabSize {
		return fmt.Errorf("tokenizer vocabulary (%d) is larger than the model's (%d)", tok.VocabSize(), cfg.VocabSize)
	}
	var ws bert.Workspace
	for _, text := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		enc, err := tok.Encode(text)
		if err != nil {
			return err
		}
		var rows []int
		for i, id := range enc.IDs {
			if id == maskID {
				rows = append(rows, i)
			}
		}
		if len(rows) == 0 {
			return fmt.Errorf("no [MASK] token in %q", text)
		}
		in := bert.Input{B: 1, T: len(enc.IDs), IDs: enc.IDs, TypeIDs: enc.TypeIDs, Mask: enc.AttentionMask}
		if _, _, err := model.Forward(&ws, in); err != nil {
			return err
		}
		logits, err := model.MaskedLM(&ws, rows)
		if err != nil {
			return err
		}
		type prediction struct {
			Score    float64 `json:"score"`
			Token    int     `json:"token"`
			TokenStr string  `json:"token_str"`
			Sequence string  `json:"sequence"`
		}
		var all [][]prediction
		V := cfg.VocabSize
		for i, pos := range rows {
			probs := logits[i*V : (i+1)*V]
			kernels.Softmax(probs, probs)
			var preds []prediction
			for _, id := range topIndices(probs, *topK) {
				ids := append([]int(nil), enc.IDs...)
				ids[pos] = id
				seq, err := tok.Decode(ids, true)
				if err != nil {
					return err
				}
				word, _ := tok.IDToToken(id)
				preds = append(preds, prediction{Score: float64(probs[id]), Token: id, TokenStr: word, Sequence: seq})
			}
			all = append(all, preds)
		}
		if *asJSON {
			b, err := json.Marshal(map[string]any{"text": text, "masks": all})
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
			continue
		}
		fmt.Fprintln(stdout, text)
		for i, preds := range all {
			if len(all) > 1 {
				fmt.Fprintf(stdout, "[MASK] %d of %d:\n", i+1, len(all))
			}
			for _, p := range preds {
				fmt.Fprintf(stdout, "  %.4f  %-12s %s\n", p.Score, p.TokenStr, p.Sequence)
			}
		}
	}
	return nil
}

// topIndices returns the indices of the k largest values of x, largest
// first (ties: lower index first).
func topIndices(x []float32, k int) []int {
	k = min(k, len(x))
	idx := make([]int, 0, k+1)
	for i, v := range x {
		if math.IsNaN(float64(v)) {
			continue
		}
		if len(idx) == k && v <= x[idx[k-1]] {
			continue
		}
		j := sort.Search(len(idx), func(j int) bool { return x[idx[j]] < v })
		idx = append(idx, 0)
		copy(idx[j+1:], idx[j:])
		idx[j] = i
		if len(idx) > k {
			idx = idx[:k]
		}
	}
	return idx
}
