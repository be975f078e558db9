package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/finetune"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/internal/atomicfile"
	"github.com/glossa-ai/glossa/models/bert"
)

const evalNERUsage = `Usage: glossa eval --task ner --model DIR --data FILE [flags]

Evaluates a token classifier (a BertForTokenClassification folder, as
"glossa finetune --task ner" writes or Hugging Face saves) on a tagged CoNLL
or JSONL file: entity-level precision, recall and F1 per entity type and
overall (micro), macro and weighted averages and the token accuracy, with
seqeval's default mode (conlleval's reading of IOB1, IOB2 and IOBES) or its
strict mode (--strict-scheme). Each word takes the prediction of its first
sub-token; sentences longer than --max-len are split into windows. A tag in
the file that is not one of the model's classes (id2label) is an error.
--predictions writes "word gold predicted" lines, conlleval's input.`

func runEvalNER(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	var tf taggedFlags
	fs.String("task", "ner", "ner: entity-level scores of a token classifier")
	modelDir := fs.String("model", "", "token-classifier folder (required)")
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: the one in --model)")
	dataPath := fs.String("data", "", "tagged file to evaluate on (required)")
	tf.register(fs, false)
	batch := fs.Int("batch-size", 64, "windows per forward pass")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	predPath := fs.String("predictions", "", "write the predictions as CoNLL lines (word gold predicted) to this file")
	dtype := fs.String("dtype", "f32", "weight format: f32, or bf16 (bfloat16 matrices and embeddings)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, evalNERUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if *modelDir == "" || *dataPath == "" {
		return fmt.Errorf("%w: --model and --data are required", errUsage)
	}
	if *batch <= 0 || (tf.maxLen != 0 && tf.maxLen < 3) {
		return fmt.Errorf("%w: --batch-size must be positive and --max-len at least 3", errUsage)
	}
	entity, err := tf.entityOptions()
	if err != nil {
		return err
	}
	format, err := infer.ParseFormat(*dtype)
	if err != nil {
		return fmt.Errorf("%w: --dtype: %v", errUsage, err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if *modelDir, err = resolveModel(ctx, *modelDir, stderr); err != nil {
		return err
	}
	model, err := bert.LoadEncoder(*modelDir, &bert.EncoderOptions{Format: format, Heads: bert.HeadTokenClassifier})
	if err != nil {
		return err
	}
	if err := checkTokenClassifier(model.Config); err != nil {
		return fmt.Errorf("%s: %w", *modelDir, err)
	}
	names := make([]string, model.Config.Labels())
	for i := range names {
		names[i] = model.Config.LabelName(i)
	}
	lm, err := data.LabelMapOf(names)
	if err != nil {
		return fmt.Errorf("%s: classes: %w", *modelDir, err)
	}
	tok, _, err := loadTokenizer(*tokPath, *modelDir)
	if err != nil {
		return err
	}
	maxLen := tf.maxLen
	if maxLen == 0 {
		maxLen = min(128, model.Config.MaxPositions)
	}
	if maxLen > model.Config.MaxPositions {
		return fmt.Errorf("%w: --max-len %d exceeds the model's %d positions", errUsage, maxLen, model.Config.MaxPositions)
	}
	d, enc, err := tf.encodeTagged(*dataPath, tok, lm, maxLen, logger)
	if err != nil {
		return err
	}
	pred, err := finetune.PredictTags(ctx, model, nil, d.Sentences, enc.Examples, *batch, padID(tok))
	if err != nil {
		return err
	}
	tags := pred.Tags(names)
	r, err := finetune.ScoreTags(d.Sentences, tags, &entity)
	if err != nil {
		return err
	}
	if *predPath != "" {
		var b bytes.Buffer
		for s, sent := range d.Sentences {
			for w, word := range sent.Words {
				fmt.Fprintf(&b, "%s %s %s\n", word, sent.Tags[w], tags[s][w])
			}
			b.WriteByte('\n')
		}
		if err := atomicfile.WriteFile(*predPath, b.Bytes()); err != nil {
			return err
		}
	}
	if *asJSON {
		ev := finetune.NEREval(pred.Loss, r)
		out := map[string]any{"sentences": r.Sentences, "tokens": r.Tokens, "loss": pred.Loss, "metrics": ev.Metrics,
			"types": r.Types, "micro": r.Micro, "macro": r.Macro, "weighted": r.Weighted}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "entity F1 %.4f, precision %.4f, recall %.4f (%d sentences, %d words)\n\n%s",
		r.Micro.F1, r.Micro.Precision, r.Micro.Recall, r.Sentences, r.Tokens, r)
	return nil
}

// checkTokenClassifier refuses a model whose config.json names only other
// head classes: BERT's sequence classifier has the same tensor names as its
// token classifier, so the weights alone cannot tell them apart.
func checkTokenClassifier(cfg bert.Config) error {
	if len(cfg.Architectures) == 0 {
		return nil
	}
	for _, a := range cfg.Architectures {
		if strings.HasSuffix(a, "ForTokenClassification") {
			return nil
		}
	}
	return fmt.Errorf("token classification needs the TokenClassification head (classifier on every token), which the model does not have (architectures %s)",
		strings.Join(cfg.Architectures, ", "))
}
