package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/glossa-ai/glossa/internal/seq2seqfixture"
	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/pipeline"
)

// TestMain skips the package's tests and examples when the shared data
// they run on is missing (outside CI, where that is a failure).
func TestMain(m *testing.M) {
	if testenv.SharedDir() == "" && os.Getenv("CI") == "" {
		fmt.Println("pipeline: shared data missing (set GLOSSA_SHARED); skipping")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// model returns a tiny random model of ../shared/golden/hf_pipelines (a
// real one is a Hub name such as "dslim/bert-base-NER"), or "" when the
// shared data is missing.
func model(name string) string {
	dir := filepath.Join(testenv.SharedDir(), "golden", "hf_pipelines", "models", name)
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// Load a pipeline by task name and answer a call written with Hugging
// Face's argument names. (The examples run tiny random models, so their
// answers mean nothing.)
func Example() {
	ctx := context.Background()
	p, err := pipeline.Load(ctx, pipeline.ZeroShotTask, model("bert-tiny-nli"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	// One call as a command line or a server gets it: Hugging Face's names.
	r := p.CallJSON(ctx, []byte(`{"inputs": "I love this phone", "candidate_labels": ["tech", "food"]}`))[0]
	if r.Err != nil {
		fmt.Println(r.Err)
		return
	}
	res := r.Value.(pipeline.ZeroShotResult) // {"sequence": …, "labels": […], "scores": […]} as JSON
	fmt.Printf("%v %.4f\n", res.Labels, res.Scores)
	// Output: [tech food] [0.5116 0.4884]
}

func ExampleFillMask() {
	ctx := context.Background()
	p, _ := pipeline.LoadFillMask(ctx, model("bert-tiny-mlm"), nil)
	out, _ := p.Run(ctx, []string{"The capital of France is [MASK]."}, &pipeline.FillMaskOptions{TopK: 2})
	for _, r := range out[0][0] {
		fmt.Printf("%.4f %q %q\n", r.Score, r.TokenStr, r.Sequence)
	}
	// Output:
	// 0.0070 "##ress" "the capital of france isress."
	// 0.0047 "##ment" "the capital of france isment."
}

func ExampleTextClassification() {
	ctx := context.Background()
	p, _ := pipeline.LoadTextClassification(ctx, model("bert-tiny-nli"), nil)
	out, _ := p.Run(ctx, []pipeline.TextInput{{Text: "A man is playing a guitar.", TextPair: "A man plays music."}}, &pipeline.TextClassificationOptions{TopK: pipeline.AllLabels})
	for _, c := range out[0] {
		fmt.Printf("%s %.4f\n", c.Label, c.Score)
	}
	// Output:
	// contradiction 0.5141
	// neutral 0.2451
	// entailment 0.2407
}

func ExampleTokenClassification() {
	ctx := context.Background()
	p, _ := pipeline.LoadTokenClassification(ctx, model("bert-tiny-ner"), nil)
	out, _ := p.Run(ctx, []string{"My name is Wolfgang and I live in Berlin."}, &pipeline.TokenClassificationOptions{AggregationStrategy: pipeline.AggregateFirst})
	for _, e := range out[0] {
		fmt.Printf("%s %q [%d, %d) %.4f\n", e.EntityGroup, e.Word, e.Start, e.End, e.Score)
	}
	// Output:
	// ORG "my" [0, 2) 0.1867
	// PER "name" [3, 7) 0.1945
}

func ExampleQuestionAnswering() {
	ctx := context.Background()
	p, _ := pipeline.LoadQuestionAnswering(ctx, model("bert-tiny-qa"), nil)
	out, _ := p.Run(ctx, []pipeline.QAInput{{Question: "Where does Wolfgang live?", Context: "My name is Wolfgang and I live in Berlin."}}, nil)
	a := out[0][0]
	fmt.Printf("%q [%d, %d) %.4f\n", a.Answer, a.Start, a.End, a.Score)
	// Output: "and" [20, 23) 0.0172
}

func ExampleFeatureExtraction() {
	ctx := context.Background()
	p, _ := pipeline.LoadFeatureExtraction(ctx, model("bert-tiny-embed"), nil)
	yes := true
	out, _ := p.Run(ctx, []string{"This is an example sentence."}, &pipeline.FeatureExtractionOptions{Pooling: pipeline.PoolMean, Normalize: &yes})
	fmt.Printf("%d values: %.4f …\n", len(out[0].Data), out[0].Data[:3])
	// Output: 12 values: [-0.1764 -0.2150 -0.3615] …
}

func ExampleZeroShot() {
	ctx := context.Background()
	p, _ := pipeline.LoadZeroShot(ctx, model("bert-tiny-nli"), nil)
	out, _ := p.Run(ctx, []string{"The team won the final 2-1."}, []string{"sports", "politics", "cooking"}, &pipeline.ZeroShotOptions{MultiLabel: true})
	fmt.Printf("%v %.4f\n", out[0].Labels, out[0].Scores)
	// Output: [cooking sports politics] [0.5848 0.5323 0.5048]
}

// Load an encoder once for every task its heads serve (what glossa serve
// does with an encoder folder): an NLI classifier runs text
// classification and zero-shot, and names the head it lacks for the
// others.
func ExampleLoadEncoders() {
	ctx := context.Background()
	e, err := pipeline.LoadEncoders(ctx, model("bert-tiny-nli"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Tasks())
	if _, err := e.Pipeline(pipeline.FillMaskTask); errors.Is(err, pipeline.ErrNoHead) {
		fmt.Println("fill-mask: no head")
	}
	zs, _ := e.Pipeline(pipeline.ZeroShotTask)
	r := zs.CallJSON(ctx, []byte(`{"inputs": "The team won the final 2-1.", "candidate_labels": ["sports", "politics", "cooking"], "multi_label": true}`))[0]
	fmt.Printf("%.4f\n", r.Value.(pipeline.ZeroShotResult).Scores)
	// Output:
	// [text-classification feature-extraction zero-shot-classification]
	// fill-mask: no head
	// [0.5848 0.5323 0.5048]
}

// seq2seqModel writes a tiny encoder-decoder fixture with a tokenizer into
// a temporary folder (a real model is a Hub name such as
// "Helsinki-NLP/opus-mt-en-de"); remove it when done.
func seq2seqModel(fixture string, extraConfig map[string]any) string {
	dir, err := os.MkdirTemp("", "glossa-example-*")
	if err != nil {
		return ""
	}
	if err := seq2seqfixture.Folder(dir, fixture, extraConfig); err != nil {
		os.RemoveAll(dir)
		return ""
	}
	return dir
}

// Translate texts; the JSON face answers with Hugging Face's field,
// translation_text.
func ExampleText2Text_translation() {
	ctx := context.Background()
	dir := seq2seqModel("marian-tiny", nil)
	defer os.RemoveAll(dir)
	p, err := pipeline.LoadText2Text(ctx, pipeline.TranslationTask, dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := p.CallJSON(ctx, []byte(`{"inputs": "Two dogs play in the snow.", "max_new_tokens": 4, "min_new_tokens": 4, "num_beams": 2}`))[0]
	b, _ := json.Marshal(r.Value)
	fmt.Println(string(b), r.Err)
	// Output: [{"translation_text":"dress steps again"}] <nil>
}

// Summarize with a model whose config.json has a summarization entry in
// task_specific_params (T5's "summarize: " prefix).
func ExampleText2Text_summarization() {
	ctx := context.Background()
	dir := seq2seqModel("t5-tiny", map[string]any{"task_specific_params": map[string]any{
		"summarization": map[string]any{"prefix": "summarize: "}}})
	defer os.RemoveAll(dir)
	p, err := pipeline.LoadText2Text(ctx, pipeline.SummarizationTask, dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := p.Run(ctx, []string{"A man in an orange hat is staring at something."}, &pipeline.Text2TextOptions{MaxNewTokens: 5, MinNewTokens: 5})
	fmt.Printf("%q %v\n", out[0].Text, err)
	// Output: "photo beach beach beach beach" <nil>
}

// Generate text from text (BART's text2text-generation): generated_text.
func ExampleText2Text_text2textGeneration() {
	ctx := context.Background()
	dir := seq2seqModel("bart-tiny", nil)
	defer os.RemoveAll(dir)
	p, err := pipeline.Load(ctx, pipeline.Text2TextTask, dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := p.CallJSON(ctx, []byte(`{"inputs": ["A little girl climbs.", "Two dogs play."], "max_new_tokens": 3}`))[0]
	b, _ := json.Marshal(r.Value)
	fmt.Println(string(b), r.Err)
	// Output: [{"generated_text":" wooden."},{"generated_text":" wooden."}] <nil>
}
