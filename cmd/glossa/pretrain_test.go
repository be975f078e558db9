package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glossa-ai/glossa/train"
)

// childArgsEnv carries the arguments of a pretrain run to the re-executed
// test binary (TestPretrainChild), separated by \x1f.
const childArgsEnv = "GLOSSA_TEST_PRETRAIN_ARGS"

// TestPretrainChild is not a test of its own: TestPretrainCrashResume
// re-executes the test binary with only this test selected, to run
// "glossa pretrain" in a process it can SIGKILL.
func TestPretrainChild(t *testing.T) {
	args := os.Getenv(childArgsEnv)
	if args == "" {
		t.Skip("helper process for TestPretrainCrashResume")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var out, errs bytes.Buffer
	if code := run(ctx, strings.Split(args, "\x1f"), &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, &out, &errs)
	}
	if !strings.Contains(out.String(), "interrupted at step") {
		t.Fatalf("not interrupted:\n%s", &out)
	}
}

// runChild runs "glossa ARGS" in a child process, sends it sig once the
// run folder holds a checkpoint of step ≥ atStep, waits for it to end and
// returns the newest checkpoint. After SIGINT the child must exit 0 (it
// checks its own output); after SIGKILL it cannot.
func runChild(t *testing.T, args []string, runDir string, atStep int, sig os.Signal) train.Checkpoint {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPretrainChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+strings.Join(args, "\x1f"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(120 * time.Second)
	for signalled := false; !signalled; {
		select {
		case err := <-done:
			t.Fatalf("child exited (%v) before checkpoint %d was seen:\n%s", err, atStep, &out)
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("no checkpoint %d after 120 s", atStep)
		case <-time.After(2 * time.Millisecond):
			if ck, err := train.LatestCheckpoint(runDir); err == nil && ck.Step >= atStep {
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				signalled = true
			}
		}
	}
	err := <-done
	if sig == os.Interrupt && err != nil {
		t.Fatalf("child after SIGINT: %v\n%s", err, &out)
	}
	ck, err := train.LatestCheckpoint(runDir)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// writeCorpus writes a small deterministic English-like corpus.
func writeCorpus(t *testing.T, dir string, lines int) string {
	t.Helper()
	words := []string{"the", "king", "and", "queen", "of", "a", "castle", "spoke", "to", "their", "people", "with", "grace", "."}
	var b strings.Builder
	x := uint32(12345)
	for i := range lines {
		for j := range 8 + i%5 {
			x = x*1664525 + 1013904223
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[(x>>16)%uint32(len(words))])
		}
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeDocs writes writeCorpus's text as docs.txt with a blank line after
// every fifth line, so that it has documents (BERT's NSP, ELECTRA's
// validation split), and returns its path; corpus.txt stays beside it.
func writeDocs(t *testing.T, dir string, lines int) string {
	t.Helper()
	b, err := os.ReadFile(writeCorpus(t, dir, lines))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for i, l := range strings.SplitAfter(string(b), "\n") {
		sb.WriteString(l)
		if i%5 == 4 {
			sb.WriteString("\n")
		}
	}
	docs := filepath.Join(dir, "docs.txt")
	if err := os.WriteFile(docs, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return docs
}

// trainLosses reads the per-step train losses of a run's metrics log.
func trainLosses(t *testing.T, dir string) map[int]float64 {
	t.Helper()
	recs, err := train.ReadMetricsLog(filepath.Join(dir, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]float64{}
	for _, r := range recs {
		if r.Split == "train" {
			if _, dup := m[r.Step]; dup {
				t.Errorf("%s: step %d logged twice", dir, r.Step)
			}
			m[r.Step] = r.Loss
		}
	}
	return m
}

// TestPretrainCrashResume starts "glossa pretrain" in a child process,
// SIGKILLs it after a checkpoint, resumes it with --resume in a second child
// that it stops with SIGINT (Ctrl-C: checkpoint and clean exit), resumes
// again to the end and checks that every step's loss equals that of an
// uninterrupted run: a character GPT in float32 and in bfloat16 mixed
// precision (--bf16), and ELECTRA (whose generator's sampling must resume
// exactly too).
func TestPretrainCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts training processes")
	}
	clm := []string{"--objective", "clm", "--tokenizer", "char"}
	t.Run("f32", func(t *testing.T) { testPretrainCrashResume(t, clm, writeCorpus) })
	t.Run("bf16", func(t *testing.T) { testPretrainCrashResume(t, append(clm, "--bf16"), writeCorpus) })
	t.Run("electra", func(t *testing.T) {
		testPretrainCrashResume(t, []string{"--objective", "electra", "--train-tokenizer", "--vocab-size", "200",
			"--width", "32", "--block-size", "32", "--batch-size", "8"}, writeDocs)
	})
	t.Run("mlm-nsp-bf16", func(t *testing.T) {
		testPretrainCrashResume(t, []string{"--objective", "mlm-nsp", "--train-tokenizer", "--vocab-size", "200",
			"--width", "32", "--block-size", "32", "--batch-size", "8", "--bf16"}, writeDocs)
	})
}

func testPretrainCrashResume(t *testing.T, model []string, write func(t *testing.T, dir string, lines int) string) {
	tmp := t.TempDir()
	corpus := write(t, tmp, 3000)
	const steps = 120
	args := func(out string, extra ...string) []string {
		a := []string{"pretrain", "--data", corpus,
			"--out", out, "--cache-dir", filepath.Join(tmp, "cache"), "--layers", "2", "--width", "64", "--heads", "2",
			"--block-size", "64", "--batch-size", "16", "--steps", "120", "--warmup", "10", "--lr", "3e-3",
			"--accumulate", "2", "--eval-every", "25", "--eval-blocks", "8", "--save-every", "10", "--keep", "2",
			"--seed", "7", "--progress", "off"}
		a = append(a, model...) // after the defaults, which it may override
		return append(a, extra...)
	}

	// The reference: one uninterrupted run.
	ref := filepath.Join(tmp, "ref")
	if code, out, errs := glossa(t, args(ref)...); code != 0 {
		t.Fatalf("reference run: exit %d\n%s\n%s", code, out, errs)
	}
	want := trainLosses(t, ref)
	if len(want) != steps {
		t.Fatalf("reference run logged %d steps, want %d", len(want), steps)
	}

	// The killed run: SIGKILL after its checkpoint of step ≥ 20.
	run := filepath.Join(tmp, "run")
	killed := runChild(t, args(run), run, 20, os.Kill)
	if killed.Step >= steps {
		t.Fatalf("child finished (checkpoint %d) before it was killed", killed.Step)
	}
	t.Logf("SIGKILL after checkpoint %d", killed.Step)

	// Resumed in a second child, interrupted with SIGINT (Ctrl-C), which
	// must save a checkpoint at the step it stopped and exit cleanly.
	stopped := runChild(t, args(run, "--resume"), run, killed.Step+20, os.Interrupt)
	if stopped.Step >= steps || stopped.Step < killed.Step+20 {
		t.Fatalf("after SIGINT the newest checkpoint is %d (killed at %d)", stopped.Step, killed.Step)
	}
	t.Logf("SIGINT: checkpoint %d", stopped.Step)

	code, out, errs := glossa(t, args(run, "--resume")...)
	if code != 0 {
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

// TestPretrainBadInput checks that bad corpora and flags give clear errors.
func TestPretrainBadInput(t *testing.T) {
	tmp := t.TempDir()
	empty := filepath.Join(tmp, "empty.txt")
	small := filepath.Join(tmp, "small.txt")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(small, []byte("a tiny corpus\n"), 0o644)
	base := []string{"pretrain", "--out", filepath.Join(tmp, "out"), "--cache-dir", filepath.Join(tmp, "cache"),
		"--progress", "off", "--layers", "1", "--width", "8", "--heads", "2", "--steps", "2"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"empty corpus", []string{"--tokenizer", "char", "--data", empty}, 1, "holds no characters"},
		{"smaller than a block", []string{"--tokenizer", "char", "--data", small, "--block-size", "64"}, 1, "fewer than two blocks"},
		{"missing corpus", []string{"--tokenizer", "char", "--data", filepath.Join(tmp, "nope.txt")}, 1, "nope.txt"},
		{"no tokenizer", []string{"--data", small}, 2, "--tokenizer"},
		{"bad objective", []string{"--objective", "xyz", "--tokenizer", "char", "--data", small}, 2, "--objective"},
		{"bad heads", []string{"--tokenizer", "char", "--data", small, "--heads", "3"}, 2, "--heads"},
		{"char with bert", []string{"--objective", "mlm-nsp", "--tokenizer", "char", "--data", small}, 2, "char"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := glossa(t, append(base, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errs, tc.want)
			}
		})
	}
}

// TestPretrainHelp checks that --help documents every flag.
func TestPretrainHelp(t *testing.T) {
	code, _, errs := glossa(t, "pretrain", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"-objective", "-tokenizer", "-train-tokenizer", "-data", "-out", "-steps", "-batch-size",
		"-lr", "-warmup", "-eval-every", "-save-every", "-seed", "-resume", "-layers", "-width"} {
		if !strings.Contains(errs, f) {
			t.Errorf("help lacks %s", f)
		}
	}
}

// TestPretrainMLMNSP trains a WordPiece tokenizer and a tiny BERT with
// masked-LM + next-sentence prediction, and checks the saved folder and the
// evaluation metrics; a corpus of one document is a clear error.
func TestPretrainMLMNSP(t *testing.T) {
	tmp := t.TempDir()
	docs := writeDocs(t, tmp, 400)
	src := filepath.Join(tmp, "corpus.txt")
	out := filepath.Join(tmp, "bert")
	args := []string{"pretrain", "--objective", "mlm-nsp", "--train-tokenizer", "--vocab-size", "200", "--out", out,
		"--cache-dir", filepath.Join(tmp, "cache"), "--layers", "1", "--width", "32", "--heads", "2", "--block-size", "32",
		"--batch-size", "8", "--steps", "6", "--warmup", "2", "--eval-every", "3", "--save-every", "3", "--progress", "off"}
	code, stdout, stderr := glossa(t, append(args, "--data", docs)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, k := range []string{"mlm_accuracy", "nsp_accuracy", "perplexity"} {
		if !strings.Contains(stdout, k) {
			t.Errorf("output lacks %s:\n%s", k, stdout)
		}
	}
	for _, f := range []string{"config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "loss.png",
		"checkpoint-6/optimizer.safetensors", "checkpoint-6/trainer_state.json", "checkpoint-6/vocab.txt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	cfg, _ := os.ReadFile(filepath.Join(out, "config.json"))
	if !strings.Contains(string(cfg), "BertForPreTraining") {
		t.Errorf("config.json: %s", cfg)
	}
	// --init continues from the saved model: with a learning rate of
	// nothing, its first evaluation is the saved model's last one.
	cont := filepath.Join(tmp, "cont")
	initArgs := []string{"pretrain", "--objective", "mlm-nsp", "--tokenizer", out, "--init", out, "--data", docs,
		"--out", cont, "--cache-dir", filepath.Join(tmp, "cache"), "--block-size", "32", "--batch-size", "8",
		"--steps", "1", "--warmup", "0", "--lr", "1e-30", "--min-lr", "1e-30", "--eval-every", "1", "--progress", "off"}
	if code, stdout, stderr := glossa(t, initArgs...); code != 0 {
		t.Fatalf("--init: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if a, b := lastEvalLoss(t, out), lastEvalLoss(t, cont); math.Abs(a-b) > 1e-5 {
		t.Errorf("--init: first evaluation loss %v, the saved model's last %v", b, a)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--block-size", "64"}, 1, "exceeds the model's 32 positions"},
		{[]string{"--tokenizer", "", "--train-tokenizer"}, 2, "--init continues"},
	} {
		bad := append(slices.Clone(initArgs), "--out", filepath.Join(tmp, "bad"))
		bad = append(bad, tc.args...)
		if code, _, stderr := glossa(t, bad...); code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("--init with %q: exit %d, %s", tc.args, code, stderr)
		}
	}
	// One document cannot make NotNext pairs.
	code, _, stderr = glossa(t, append(args[:len(args):len(args)], "--data", src, "--out", filepath.Join(tmp, "one"))...)
	if code != 1 || !strings.Contains(stderr, "documents") {
		t.Errorf("one-document corpus: exit %d, %s", code, stderr)
	}
}

// lastEvalLoss returns the loss of the last evaluation record in a run's
// metrics.jsonl.
func lastEvalLoss(t *testing.T, dir string) float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	loss := math.NaN()
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			Split string  `json:"split"`
			Loss  float64 `json:"loss"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Split == "eval" {
			loss = rec.Loss
		}
	}
	return loss
}
