package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/glossa-ai/glossa/hub"
	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/pipeline"
)

const pipelineUsage = `Usage: glossa pipeline TASK --model M [flags] [INPUT ...]
       glossa pipeline TASK --model M --jsonl [--input FILE] [flags]

Runs a Hugging Face task pipeline. TASK is the task's name: fill-mask,
text-classification (sentiment-analysis), token-classification (ner),
question-answering, feature-extraction, zero-shot-classification,
text-generation, and with an encoder-decoder (Marian, T5, BART)
translation, summarization, text2text-generation. M is a
model folder or ORG/NAME[@REVISION] on the Hub (the cache first, else
downloaded).

Each INPUT is one call: a text, or for question-answering --question
with INPUT as the context (or --context with INPUT as the question); its
result is printed as one line of JSON, as Hugging Face returns it.

With --jsonl, each line of --input (standard input by default) is one call:
a JSON object with the call's arguments under Hugging Face's names
("inputs"; "question" and "context"; "candidate_labels") and its options at
the top level or under "options" ("top_k", "aggregation_strategy",
"ignore_labels", "multi_label", "hypothesis_template", "pooling",
"normalize", "max_new_tokens", "num_beams", "src_lang", "tgt_lang", ...). Each output line is that call's result, or
{"error": "...", "line": N} for a bad line; the other lines go on. Lines with
the same options run in shared batches.

  glossa pipeline fill-mask --model google-bert/bert-base-uncased "Paris is the [MASK] of France."
  glossa pipeline token-classification --model dslim/bert-base-NER --options '{"aggregation_strategy": "simple"}' "My name is Clara."
  glossa pipeline question-answering --model distilbert/distilbert-base-cased-distilled-squad --question "Who?" "It was Clara."
  echo '{"inputs": "I love it", "candidate_labels": ["joy", "anger"]}' | glossa pipeline zero-shot-classification --model M --jsonl
  glossa pipeline translation --model Helsinki-NLP/opus-mt-en-de --options '{"num_beams": 4}' "A dog runs on the grass."

Flags:
`

// runPipeline implements "glossa pipeline".
func runPipeline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pipeline", stderr)
	modelRef := fs.String("model", "", "model folder or ORG/NAME[@REVISION] on the Hub (required)")
	tokPath := fs.String("tokenizer", "", "tokenizer file or folder (default: the model's)")
	dtype := fs.String("dtype", "", dtypeFlagHelp+" (default f32, or stored for a .gguf file)")
	batch := fs.Int("batch-size", 32, "sequences per forward pass")
	jsonl := fs.Bool("jsonl", false, "read one JSON call per line of --input and write one result per line")
	input := fs.String("input", "-", "with --jsonl: read the calls from `FILE` (- is standard input)")
	options := fs.String("options", "", "options of every call, as a JSON object (`JSON`), e.g. '{\"top_k\": 3}'")
	question := fs.String("question", "", "question-answering: the question; each INPUT is a context")
	contextText := fs.String("context", "", "question-answering: the context; each INPUT is a question")
	labels := fs.String("labels", "", "zero-shot-classification: the candidate labels, comma-separated")
	pair := fs.String("pair", "", "text-classification: the second text of a pair, with every INPUT")
	fs.Usage = func() {
		fmt.Fprint(stderr, pipelineUsage)
		fs.PrintDefaults()
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fs.Usage()
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: the first argument is the TASK (%s)", errUsage, taskNames())
	}
	task, err := pipeline.ParseTask(args[0])
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return flagError(err)
	}
	var opts map[string]json.RawMessage
	switch {
	case *modelRef == "":
		return fmt.Errorf("%w: --model is required", errUsage)
	case *jsonl && fs.NArg() > 0:
		return fmt.Errorf("%w: with --jsonl the calls come from --input, not arguments", errUsage)
	case !*jsonl && fs.NArg() == 0 && !(task == pipeline.QuestionAnsweringTask && *question != "" && *contextText != ""):
		return fmt.Errorf("%w: no INPUT given (or use --jsonl)", errUsage)
	case *batch < 1:
		return fmt.Errorf("%w: --batch-size must be at least 1", errUsage)
	case *options != "":
		if err := json.Unmarshal([]byte(*options), &opts); err != nil || opts == nil {
			return fmt.Errorf("%w: --options is not a JSON object: %v", errUsage, err)
		}
	}
	format, err := infer.ParseFormat(*dtype)
	if err != nil {
		return fmt.Errorf("%w: --dtype: %v", errUsage, err)
	}
	if *dtype == "" && strings.EqualFold(filepath.Ext(*modelRef), ".gguf") {
		format = infer.Stored // a quantized file runs in its own types
	}
	bar := &pullBar{w: stderr}
	p, err := pipeline.Load(ctx, task, *modelRef, &pipeline.Options{Format: format, Tokenizer: *tokPath, BatchSize: *batch, Hub: &hub.Options{Progress: bar.update}})
	bar.finish()
	if err != nil {
		return err
	}
	if *jsonl {
		return pipelineJSONL(ctx, p, *input, opts, *batch, stdout, stderr)
	}
	calls, err := argumentCalls(task, fs.Args(), opts, *question, *contextText, *labels, *pair)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for i, r := range p.CallJSON(ctx, calls...) {
		if r.Err != nil {
			return fmt.Errorf("input %d: %w", i+1, r.Err)
		}
		if err := enc.Encode(r.Value); err != nil {
			return err
		}
	}
	return nil
}

func taskNames() string {
	names := make([]string, len(pipeline.Tasks))
	for i, t := range pipeline.Tasks {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// argumentCalls turns the command line's inputs into JSON calls.
func argumentCalls(task pipeline.Task, inputs []string, opts map[string]json.RawMessage, question, contextText, labels, pair string) ([]json.RawMessage, error) {
	mk := func(args map[string]any) (json.RawMessage, error) {
		c := map[string]any{}
		for k, v := range opts {
			c[k] = v
		}
		for k, v := range args {
			c[k] = v
		}
		return json.Marshal(c)
	}
	if task == pipeline.QuestionAnsweringTask && question != "" && contextText != "" && len(inputs) == 0 {
		inputs = []string{""}
	}
	var calls []json.RawMessage
	for _, in := range inputs {
		var args map[string]any
		switch {
		case task == pipeline.QuestionAnsweringTask:
			switch {
			case question != "" && contextText != "":
				args = map[string]any{"question": question, "context": contextText}
			case question != "":
				args = map[string]any{"question": question, "context": in}
			case contextText != "":
				args = map[string]any{"question": in, "context": contextText}
			default:
				return nil, fmt.Errorf("%w: question-answering needs --question or --context", errUsage)
			}
		case task == pipeline.ZeroShotTask:
			if labels == "" && opts["candidate_labels"] == nil {
				return nil, fmt.Errorf("%w: zero-shot-classification needs --labels", errUsage)
			}
			args = map[string]any{"inputs": in}
			if labels != "" {
				args["candidate_labels"] = labels
			}
		case task == pipeline.TextClassificationTask && pair != "":
			args = map[string]any{"inputs": map[string]string{"text": in, "text_pair": pair}}
		default:
			args = map[string]any{"inputs": in}
		}
		c, err := mk(args)
		if err != nil {
			return nil, err
		}
		calls = append(calls, c)
	}
	return calls, nil
}

// pipelineJSONL runs the calls of a JSON-lines file, batch lines at a
// time, writing one result line per input line. A line that fails gets an
// error line; the command then fails at the end, after every line ran.
func pipelineJSONL(ctx context.Context, p pipeline.Pipeline, input string, opts map[string]json.RawMessage, batch int, stdout, stderr io.Writer) error {
	in := os.Stdin
	if input != "-" {
		f, err := os.Open(input)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var lines []json.RawMessage
	var numbers []int
	n, failed := 0, 0
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		for i, r := range p.CallJSON(ctx, lines...) {
			v := r.Value
			if r.Err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				failed++
				v = map[string]any{"error": r.Err.Error(), "line": numbers[i]}
			}
			if err := enc.Encode(v); err != nil {
				return err
			}
		}
		lines, numbers = lines[:0], numbers[:0]
		return w.Flush()
	}
	for sc.Scan() {
		n++
		line := json.RawMessage(append([]byte(nil), sc.Bytes()...))
		if len(opts) > 0 {
			line = withDefaults(line, opts)
		}
		lines, numbers = append(lines, line), append(numbers, n)
		if len(lines) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d lines failed (see their error lines)", failed, n)
	}
	return nil
}

// withDefaults adds the --options the line does not set itself; a line
// that is not a JSON object is left for the pipeline to refuse.
func withDefaults(line json.RawMessage, opts map[string]json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) != nil || m == nil {
		return line
	}
	var nested map[string]json.RawMessage
	if raw, ok := m["options"]; ok {
		json.Unmarshal(raw, &nested)
	}
	for k, v := range opts {
		if _, ok := m[k]; ok {
			continue
		}
		if _, ok := nested[k]; ok {
			continue
		}
		m[k] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		return line
	}
	return out
}
