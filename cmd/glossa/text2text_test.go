package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/seq2seq"
	"github.com/glossa-ai/glossa/text2text"
	tokauto "github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/unigram"
)

// seq2seqFolder copies a 1000-token seq2seq fixture into a temporary
// folder with a Marian-layout tokenizer (the Multi30k Unigram model as
// source.spm, a vocab.json of </s> 0, <unk> 1, its first 997 other pieces
// and <pad> 999), so that the folder loads like a hub model.
func seq2seqFolder(t *testing.T, fixture string) string {
	t.Helper()
	spm, err := os.ReadFile(testenv.Shared(t, "tokenizers", "multi30k-unigram", "multi30k-unigram.model"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := unigram.ParseModel(spm)
	if err != nil {
		t.Fatal(err)
	}
	vocab := map[string]int{"</s>": 0, "<unk>": 1}
	for id := 3; len(vocab) < 999; id++ {
		p, _ := m.IDToToken(id)
		vocab[p] = len(vocab)
	}
	vocab["<pad>"] = 999
	vj, _ := json.Marshal(vocab)
	dir := t.TempDir()
	files := map[string][]byte{"source.spm": spm, "target.spm": spm, "vocab.json": vj}
	src := testenv.Shared(t, "fixtures", fixture)
	for _, name := range []string{"config.json", "generation_config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// libraryTexts runs package text2text directly, for comparison.
func libraryTexts(t *testing.T, dir string, srcs []string, opts *text2text.Options) []string {
	t.Helper()
	sm, err := seq2seq.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokauto.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := text2text.New(sm, tok)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Generate(context.Background(), srcs, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res {
		out = append(out, collapseSpace(r.Text))
	}
	return out
}

var texts = []string{"Two dogs play in the snow.", "A man in an orange hat starring at something.", "A girl climbs."}

func TestTranslateCommand(t *testing.T) {
	dir := seq2seqFolder(t, "marian-tiny")
	// The fixture's EOS bias ends every text at once: ask for 3 tokens at
	// least.
	want := libraryTexts(t, dir, texts, &text2text.Options{NumBeams: 1, MinNewTokens: 3, MaxNewTokens: 6})
	if slices.Contains(want, "") {
		t.Fatalf("empty texts %q", want)
	}
	// Greedy: one line each, the first of each batch streamed.
	args := append([]string{"translate", "--model", dir, "--num-beams", "1", "--min-new-tokens", "3", "--max-new-tokens", "6", "--batch-size", "2"}, texts...)
	code, out, errOut := glossa(t, args...)
	if code != 0 || out != strings.Join(want, "\n")+"\n" {
		t.Errorf("exit %d (%s)\n got %q\nwant %q", code, errOut, out, want)
	}
	// Lines from --input, an empty one kept; beam search (the default, 4).
	in := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(in, []byte(texts[0]+"\n\n"+texts[1]+"\n"), 0o644)
	beams := libraryTexts(t, dir, texts[:2], &text2text.Options{MinNewTokens: 3})
	code, out, errOut = glossa(t, "translate", "--model", dir, "--min-new-tokens", "3", "--input", in)
	if code != 0 || out != beams[0]+"\n\n"+beams[1]+"\n" {
		t.Errorf("--input: exit %d (%s)\n got %q\nwant %q", code, errOut, out, beams)
	}
	// JSONL: the object comes back with translation_text.
	jl := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(jl, []byte(`{"id": 7, "text": "`+texts[0]+`"}`+"\n"), 0o644)
	code, out, errOut = glossa(t, "translate", "--model", dir, "--min-new-tokens", "3", "--input", jl, "--jsonl")
	var obj map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &obj) != nil || obj["id"] != 7.0 || obj["translation_text"] != beams[0] {
		t.Errorf("--jsonl: exit %d (%s) %q", code, errOut, out)
	}
	// A source past max_position_embeddings (64): truncated with a warning,
	// or an error with --truncate=false.
	long := strings.Repeat("A man rides a bike down the street. ", 20)
	code, _, errOut = glossa(t, "translate", "--model", dir, "--max-new-tokens", "2", long)
	if code != 0 || !strings.Contains(errOut, "warning: text 1 has") || !strings.Contains(errOut, "truncated to 64") {
		t.Errorf("long source: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = glossa(t, "translate", "--model", dir, "--truncate=false", long)
	if code != 1 || !strings.Contains(errOut, "longer than the encoder's positions") {
		t.Errorf("--truncate=false: exit %d, stderr %q", code, errOut)
	}
	for _, bad := range [][]string{
		{"translate", dir},                                      // no --model
		{"translate", "--model", dir, " "},                      // empty text
		{"translate", "--model", dir, "--num-beams", "-1", "x"}, // negative
		{"translate", "--model", dir, "--jsonl", "x"},           // TEXT with --jsonl
		{"translate", "--model", dir, "--task-params", "summarization", "x"},
	} {
		if code, _, errOut := glossa(t, bad...); code == 0 || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q", bad, code, errOut)
		}
	}
	// No tokenizer beside the model: a clear error.
	if code, _, errOut := glossa(t, "translate", "--model", testenv.Shared(t, "fixtures", "marian-tiny"), "x"); code != 2 || !strings.Contains(errOut, "--tokenizer") {
		t.Errorf("no tokenizer: exit %d, %q", code, errOut)
	}
}

func TestSummarizeCommand(t *testing.T) {
	dir := seq2seqFolder(t, "t5-tiny")
	want := libraryTexts(t, dir, texts[:1], &text2text.Options{Prefix: "summarize: ", MinNewTokens: 2, MaxNewTokens: 5})
	code, out, errOut := glossa(t, "summarize", "--model", dir, "--prefix", "summarize: ", "--min-new-tokens", "2", "--max-new-tokens", "5", "--stats", texts[0])
	if code != 0 || want[0] == "" || out != want[0]+"\n" || !strings.Contains(errOut, "tokens/s") {
		t.Errorf("exit %d (%s)\n got %q\nwant %q", code, errOut, out, want[0])
	}
}

func TestEvalTextCommand(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.txt")
	ref := filepath.Join(dir, "ref.txt")
	os.WriteFile(src, []byte("The cat sat on the mat. It was happy.\nA dog barks.\n"), 0o644)
	os.WriteFile(ref, []byte("The cat sat on the mat.\nThe dog barks loudly.\n"), 0o644)
	data := src + ":" + ref
	// Lead-1 against the references: ROUGE, and the same through --predictions.
	code, out, errOut := glossa(t, "eval", "--task", "summarization", "--baseline", "lead-1", "--data", data)
	if code != 0 || !strings.Contains(out, "ROUGE-Lsum") || !strings.Contains(out, "2 examples, 2 references; hypotheses: lead-1") {
		t.Fatalf("lead-1: exit %d (%s)\n%s", code, errOut, out)
	}
	hyp := filepath.Join(dir, "hyp.txt")
	os.WriteFile(hyp, []byte("The cat sat on the mat.\nA dog barks.\n"), 0o644)
	_, out2, _ := glossa(t, "eval", "--task", "summarization", "--predictions", hyp, "--data", data)
	if strings.SplitN(out, "\n", 6)[4] != strings.SplitN(out2, "\n", 6)[4] {
		t.Errorf("lead-1 and the same --predictions differ:\n%s\n%s", out, out2)
	}
	// BLEU of the hypotheses file, with the signature, as JSON too.
	code, out, errOut = glossa(t, "eval", "--task", "translation", "--predictions", hyp, "--data", data)
	if code != 0 || !strings.HasPrefix(out, "BLEU = ") || !strings.Contains(out, "signature: nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x") {
		t.Errorf("BLEU: exit %d (%s)\n%s", code, errOut, out)
	}
	code, out, _ = glossa(t, "eval", "--task", "translation", "--predictions", hyp, "--data", data, "--json", "--lowercase")
	var rep struct {
		BLEU struct {
			Score     float64 `json:"score"`
			Signature string  `json:"signature"`
		} `json:"bleu"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.BLEU.Score <= 0 || !strings.Contains(rep.BLEU.Signature, "case:lc") {
		t.Errorf("--json: exit %d\n%s", code, out)
	}
	// An empty hypothesis is a hypothesis (it scores 0).
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("The cat sat on the mat.\n\n"), 0o644)
	if code, out, errOut := glossa(t, "eval", "--task", "translation", "--predictions", empty, "--data", data); code != 0 || !strings.Contains(out, "hyp_len = 7") {
		t.Errorf("empty hypothesis: exit %d (%s)\n%s", code, errOut, out)
	}
	// A model: marian-tiny over the same data, hypotheses saved.
	model := seq2seqFolder(t, "marian-tiny")
	save := filepath.Join(dir, "out.txt")
	code, out, errOut = glossa(t, "eval", "--task", "translation", "--model", model, "--num-beams", "1", "--min-new-tokens", "2",
		"--max-new-tokens", "4", "--data", data, "--save", save)
	saved, _ := os.ReadFile(save)
	want := libraryTexts(t, model, []string{"The cat sat on the mat. It was happy.", "A dog barks."}, &text2text.Options{NumBeams: 1, MinNewTokens: 2, MaxNewTokens: 4})
	if code != 0 || want[0] == "" || !strings.Contains(out, "BLEU = ") || string(saved) != strings.Join(want, "\n")+"\n" {
		t.Errorf("model: exit %d (%s)\n%s\nsaved %q, want %q", code, errOut, out, saved, want)
	}
	for _, bad := range [][]string{
		{"eval", "--task", "translation", "--data", data},                                               // no hypotheses
		{"eval", "--task", "translation", "--baseline", "lead-1", "--predictions", hyp, "--data", data}, // two
		{"eval", "--task", "qa", "--baseline", "lead-1", "--data", data},
		{"eval", "--task", "summarization", "--baseline", "lead-0", "--data", data},
		{"eval", "--task", "summarization", "--baseline", "lead-1"},
		{"eval", "--task", "summarization", "--baseline", "lead-1", "--data", src + ":" + filepath.Join(dir, "missing")},
		{"eval", "--task", "translation", "--predictions", src + "x", "--data", data},
		{"eval", "--task", "translation", "--predictions", hyp, "--data", data, "--smooth", "add-one"},
	} {
		if code, _, errOut := glossa(t, bad...); code == 0 || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q", bad, code, errOut)
		}
	}
	// --task classification is the classifier evaluation.
	if code, _, errOut := glossa(t, "eval", "--task", "classification"); code != 2 || !strings.Contains(errOut, "--model and --data are required") {
		t.Errorf("classification: exit %d, %q", code, errOut)
	}
}
