package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
)

// writeSentimentTSV writes a labelled TSV with the classes of the
// bert-tiny-cls fixture (negative, neutral, positive).
func writeSentimentTSV(t *testing.T, path string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("sentence\tlabel\n")
	good := []string{"great", "wonderful", "lovely", "good"}
	bad := []string{"awful", "terrible", "boring", "bad"}
	for i := range n {
		switch i % 3 {
		case 0:
			b.WriteString("the film was " + good[i/3%4] + " indeed\tpositive\n")
		case 1:
			b.WriteString("a " + bad[i/3%4] + " film , really\tnegative\n")
		default:
			b.WriteString("it was a film\tneutral\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDistillClassify distils the bert-tiny-cls fixture (2 layers) into a
// 1-layer student and checks that eval, classify and the text-classification
// pipeline load the result as an ordinary classifier.
func TestDistillClassify(t *testing.T) {
	teacher := testenv.Shared(t, "fixtures", "bert-tiny-cls")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	tmp := t.TempDir()
	trainTSV, devTSV := filepath.Join(tmp, "train.tsv"), filepath.Join(tmp, "dev.tsv")
	writeSentimentTSV(t, trainTSV, 96)
	writeSentimentTSV(t, devTSV, 24)
	out := filepath.Join(tmp, "student")
	code, stdout, stderr := glossa(t, "distill", "--teacher", teacher, "--tokenizer", vocab, "--student-layers", "1",
		"--train", trainTSV, "--dev", devTSV, "--out", out, "--steps", "40", "--lr", "3e-3", "--batch-size", "8",
		"--alpha-cos", "1", "--progress", "off")
	if code != 0 {
		t.Fatalf("distill: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"student dev accuracy", "agreement", "teacher_accuracy", "model: " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("distill output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "from_teacher_layers=[0]") {
		t.Errorf("distill log lacks the layer map:\n%s", stderr)
	}
	for _, f := range []string{"config.json", "model.safetensors", "vocab.txt", "metrics.jsonl", "loss.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("run folder: %v", err)
		}
	}
	code, stdout, stderr = glossa(t, "eval", "--model", out, "--data", devTSV)
	if code != 0 || !strings.Contains(stdout, "accuracy") {
		t.Errorf("eval of the student: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = glossa(t, "classify", "--model", out, "the film was lovely indeed")
	if code != 0 || len(strings.Fields(stdout)) < 2 {
		t.Errorf("classify with the student: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = glossa(t, "pipeline", "text-classification", "--model", out, "a terrible film , really")
	if code != 0 || !strings.Contains(stdout, "label") {
		t.Errorf("pipeline with the student: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// A bfloat16 teacher gives its soft targets from bfloat16 weights.
	code, stdout, stderr = glossa(t, "distill", "--teacher", teacher, "--tokenizer", vocab, "--layer-map", "1",
		"--train", trainTSV, "--out", filepath.Join(tmp, "bf16"), "--steps", "3", "--batch-size", "8",
		"--teacher-dtype", "bf16", "--progress", "off")
	if code != 0 || !strings.Contains(stderr, "from_teacher_layers=[1]") {
		t.Errorf("distill --teacher-dtype bf16 --layer-map 1: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestDistillMLM distils the bert-tiny fixture (a BertForPreTraining) into a
// 1-layer masked LM on a small corpus, and fill-mask loads it.
func TestDistillMLM(t *testing.T) {
	teacher := testenv.Shared(t, "fixtures", "bert-tiny")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	tmp := t.TempDir()
	corpus := writeCorpus(t, tmp, 200)
	out := filepath.Join(tmp, "mlm")
	code, stdout, stderr := glossa(t, "distill", "--task", "mlm", "--teacher", teacher, "--tokenizer", vocab,
		"--student-layers", "1", "--data", corpus, "--out", out, "--steps", "10", "--batch-size", "8",
		"--block-size", "32", "--cache-dir", filepath.Join(tmp, "cache"), "--progress", "off")
	if code != 0 {
		t.Fatalf("distill: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"kl_loss", "mlm_accuracy", "teacher_mlm_accuracy"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("distill output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = glossa(t, "fill-mask", "--model", out, "the king and [MASK] of a castle")
	if code != 0 || !strings.Contains(stdout, "the king and") {
		t.Errorf("fill-mask with the student: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestDistillCrashResume SIGKILLs a distillation run after a checkpoint,
// resumes it, stops the resumed run with SIGINT, resumes again to the end,
// and checks that every step's loss equals that of an uninterrupted run.
func TestDistillCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts training processes")
	}
	teacher := testenv.Shared(t, "fixtures", "bert-tiny-cls")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	tmp := t.TempDir()
	trainTSV := filepath.Join(tmp, "train.tsv")
	writeSentimentTSV(t, trainTSV, 300)
	const steps = 80
	args := func(out string, extra ...string) []string {
		return append([]string{"distill", "--teacher", teacher, "--tokenizer", vocab, "--student-layers", "1",
			"--train", trainTSV, "--out", out, "--steps", "80", "--lr", "2e-3", "--batch-size", "8", "--accumulate", "2",
			"--alpha-cos", "0.5", "--save-every", "10", "--keep", "2", "--seed", "3", "--progress", "off"}, extra...)
	}
	ref := filepath.Join(tmp, "ref")
	if code, out, errs := glossa(t, args(ref)...); code != 0 {
		t.Fatalf("reference run: exit %d\n%s\n%s", code, out, errs)
	}
	want := trainLosses(t, ref)
	if len(want) != steps {
		t.Fatalf("reference run logged %d steps, want %d", len(want), steps)
	}
	run := filepath.Join(tmp, "run")
	killed := runChild(t, args(run), run, 20, os.Kill)
	if killed.Step >= steps {
		t.Fatalf("child finished (checkpoint %d) before it was killed", killed.Step)
	}
	stopped := runChild(t, args(run, "--resume"), run, killed.Step+10, os.Interrupt)
	if stopped.Step >= steps || stopped.Step < killed.Step+10 {
		t.Fatalf("after SIGINT the newest checkpoint is %d (killed at %d)", stopped.Step, killed.Step)
	}
	t.Logf("SIGKILL after checkpoint %d, SIGINT at %d", killed.Step, stopped.Step)
	if code, out, errs := glossa(t, args(run, "--resume")...); code != 0 {
		t.Fatalf("resumed run: exit %d\n%s\n%s", code, out, errs)
	}
	got := trainLosses(t, run)
	if len(got) != steps {
		t.Fatalf("resumed run logged %d steps, want %d", len(got), steps)
	}
	for s := 1; s <= steps; s++ {
		if got[s] != want[s] {
			t.Errorf("step %d: loss %v, uninterrupted %v", s, got[s], want[s])
		}
	}
	if want[steps] >= want[1] {
		t.Errorf("loss did not fall: %v → %v", want[1], want[steps])
	}
}

// TestDistillBadInput checks the command's errors: a teacher without the
// task's head, a student as deep as the teacher, a vocabulary mismatch and
// bad flags.
func TestDistillBadInput(t *testing.T) {
	cls := testenv.Shared(t, "fixtures", "bert-tiny-cls")
	mlm := testenv.Shared(t, "fixtures", "bert-tiny")
	vocab := testenv.Shared(t, "tokenizers", "bert-base-uncased")
	tmp := t.TempDir()
	good := filepath.Join(tmp, "good.tsv")
	writeSentimentTSV(t, good, 12)
	corpus := writeCorpus(t, tmp, 50)
	// A BERT classifier of another vocabulary.
	other, err := bert.NewForSequenceClassification(bert.Config{VocabSize: 100, HiddenSize: 32, NumLayers: 1, NumHeads: 2,
		Intermediate: 64, MaxPositions: 64, NumLabels: 3}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	otherDir := filepath.Join(tmp, "other")
	if err := other.Save(otherDir); err != nil {
		t.Fatal(err)
	}
	// A BERT of the teacher's vocabulary, twice its width.
	wide, err := bert.NewForSequenceClassification(bert.Config{VocabSize: 30522, HiddenSize: 64, NumLayers: 1, NumHeads: 2,
		Intermediate: 64, MaxPositions: 64, NumLabels: 3}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	wideDir := filepath.Join(tmp, "wide")
	if err := wide.Save(wideDir); err != nil {
		t.Fatal(err)
	}
	base := []string{"distill", "--tokenizer", vocab, "--out", filepath.Join(tmp, "out"), "--steps", "1", "--progress", "off",
		"--cache-dir", filepath.Join(tmp, "cache")}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"classify teacher without a classifier", []string{"--teacher", mlm, "--student-layers", "1", "--train", good}, 1, "no sequence-classification head"},
		{"mlm teacher without a masked-LM head", []string{"--task", "mlm", "--teacher", cls, "--student-layers", "1", "--data", corpus}, 1, "no masked-LM head"},
		{"student as deep as the teacher", []string{"--teacher", cls, "--student-layers", "2", "--train", good}, 1, "want 1 ≤ layers < 2"},
		{"student deeper than the teacher", []string{"--teacher", cls, "--student-layers", "5", "--train", good}, 1, "want 1 ≤ layers < 2"},
		{"vocabulary mismatch", []string{"--teacher", cls, "--student", otherDir, "--train", good}, 1, "vocabulary"},
		{"student wider than the teacher", []string{"--teacher", cls, "--student", wideDir, "--train", good}, 1, "wider than the teacher (hidden_size 64 > 32)"},
		{"bad layer map", []string{"--teacher", cls, "--layer-map", "0,7", "--train", good}, 2, "layer 7"},
		{"no student", []string{"--teacher", cls, "--train", good}, 2, "no student"},
		{"both students", []string{"--teacher", cls, "--student-layers", "1", "--student", cls, "--train", good}, 2, "not both"},
		{"no teacher", []string{"--student-layers", "1", "--train", good}, 2, "--teacher"},
		{"classify without --train", []string{"--teacher", cls, "--student-layers", "1"}, 2, "--train"},
		{"mlm without a corpus", []string{"--task", "mlm", "--teacher", mlm, "--student-layers", "1"}, 2, "--data"},
		{"bad task", []string{"--task", "ner", "--teacher", cls, "--student-layers", "1", "--train", good}, 2, "--task"},
		{"zero temperature", []string{"--teacher", cls, "--student-layers", "1", "--train", good, "--temperature", "0"}, 2, "--temperature"},
		{"negative weight", []string{"--teacher", cls, "--student-layers", "1", "--train", good, "--alpha-kl", "-2"}, 2, "weights"},
		{"all weights zero", []string{"--teacher", cls, "--student-layers", "1", "--train", good, "--alpha-kl", "0", "--alpha-ce", "0"}, 2, "nothing to learn"},
		{"mlm weight for classify", []string{"--teacher", cls, "--student-layers", "1", "--train", good, "--alpha-mlm", "1"}, 2, "--alpha-ce"},
		{"bad teacher dtype", []string{"--teacher", cls, "--student-layers", "1", "--train", good, "--teacher-dtype", "q4_0"}, 2, "--teacher-dtype"},
		{"missing teacher", []string{"--teacher", filepath.Join(tmp, "nope"), "--student-layers", "1", "--train", good}, 1, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := glossa(t, append(base, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errs, tc.want)
			}
		})
	}
}

// TestBenchBERTModels times a teacher and a student cut from it with
// "glossa bench bert-forward --model A,B" (the rates are not checked: this
// is a shared machine) and refuses models of different vocabularies.
func TestBenchBERTModels(t *testing.T) {
	teacher := testenv.Shared(t, "fixtures", "bert-tiny-cls")
	tmp := t.TempDir()
	other, err := bert.NewForSequenceClassification(bert.Config{VocabSize: 100, HiddenSize: 32, NumLayers: 1, NumHeads: 2,
		Intermediate: 64, MaxPositions: 64, NumLabels: 2}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	otherDir := filepath.Join(tmp, "other")
	if err := other.Save(otherDir); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := glossa(t, "bench", "bert-forward", "--threads", "1", "--model", teacher+","+teacher)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "bert-tiny-cls (2 layers, 32 wide)") || !strings.Contains(stdout, "× the first") ||
		!strings.Contains(stdout, "8×64 batch") {
		t.Errorf("output:\n%s", stdout)
	}
	if code, _, stderr := glossa(t, "bench", "bert-forward", "--model", teacher+","+otherDir); code != 1 || !strings.Contains(stderr, "100 tokens") {
		t.Errorf("models of different vocabularies: exit %d, %s", code, stderr)
	}
}
