package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/serve"
)

// writeParallel writes aligned source and target files: the target is
// the source's words in reverse order, a task a tiny model learns a little
// of in a few steps.
func writeParallel(t *testing.T, dir string, lines int) (src, tgt string) {
	t.Helper()
	words := []string{"a", "man", "woman", "dog", "runs", "sits", "on", "the", "grass", "street", "red", "blue", "ball", "with"}
	var s, g strings.Builder
	x := uint32(99)
	for i := range lines {
		n := 3 + i%5
		line := make([]string, n)
		for j := range line {
			x = x*1664525 + 1013904223
			line[j] = words[(x>>16)%uint32(len(words))]
		}
		s.WriteString(strings.Join(line, " ") + "\n")
		for l, r := 0, n-1; l < r; l, r = l+1, r-1 {
			line[l], line[r] = line[r], line[l]
		}
		g.WriteString(strings.Join(line, " ") + "\n")
	}
	src, tgt = filepath.Join(dir, "train.src"), filepath.Join(dir, "train.tgt")
	if err := os.WriteFile(src, []byte(s.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tgt, []byte(g.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return src, tgt
}

// TestFinetuneSeq2seqCrashResume trains a tiny Transformer in a child
// process, SIGKILLs it after a checkpoint, resumes it to the end and checks
// that every step's loss equals that of an uninterrupted run; then that
// the folder is a model "glossa translate" and "glossa eval --task
// translation" load.
func TestFinetuneSeq2seqCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts training processes")
	}
	spm := testenv.Shared(t, "tokenizers", "multi30k-unigram", "multi30k-unigram.model")
	tmp := t.TempDir()
	src, tgt := writeParallel(t, tmp, 300)
	const steps = 30
	args := func(out string, extra ...string) []string {
		return append([]string{"finetune", "--task", "seq2seq", "--tokenizer", spm, "--source", src, "--target", tgt,
			"--out", out, "--encoder-layers", "1", "--decoder-layers", "1", "--width", "16", "--heads", "2", "--ffn", "32",
			"--max-len", "32", "--max-tokens", "160", "--steps", "30", "--warmup", "5", "--lr", "3e-3", "--heldout", "20",
			"--eval-bleu", "8", "--eval-every", "10", "--save-every", "5", "--keep", "2", "--log-every", "1",
			"--seed", "3", "--progress", "off"}, extra...)
	}
	ref := filepath.Join(tmp, "ref")
	code, out, errs := glossa(t, args(ref)...)
	if code != 0 {
		t.Fatalf("reference run: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "best held-out evaluation: step 30, BLEU") || !strings.Contains(out, "bleu") {
		t.Errorf("reference run output lacks the held-out BLEU and best checkpoint:\n%s", out)
	}
	want := trainLosses(t, ref)
	if len(want) != steps {
		t.Fatalf("reference run logged %d steps, want %d", len(want), steps)
	}
	if want[steps] >= want[1] {
		t.Errorf("loss did not fall: %v → %v", want[1], want[steps])
	}

	run := filepath.Join(tmp, "run")
	killed := runChild(t, args(run), run, 10, os.Kill)
	if killed.Step >= steps {
		t.Fatalf("child finished (checkpoint %d) before it was killed", killed.Step)
	}
	t.Logf("SIGKILL after checkpoint %d", killed.Step)
	if code, out, errs := glossa(t, args(run, "--resume")...); code != 0 {
		t.Fatalf("resumed run: exit %d\n%s\n%s", code, out, errs)
	}
	got := trainLosses(t, run)
	for s := 1; s <= steps; s++ {
		if got[s] != want[s] {
			t.Errorf("step %d: loss %v, uninterrupted %v", s, got[s], want[s])
		}
	}

	for _, f := range []string{"config.json", "generation_config.json", "model.safetensors", "source.spm", "target.spm",
		"vocab.json", "tokenizer_config.json", "loss.png", "metrics.jsonl"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("model folder: %v", err)
		}
	}
	if code, out, errs := glossa(t, "translate", "--model", run, "a man runs on the grass"); code != 0 || strings.TrimSpace(out) == "" {
		t.Errorf("translate: exit %d, output %q\n%s", code, out, errs)
	}
	if code, out, errs := glossa(t, "eval", "--task", "translation", "--model", run, "--data", src+":"+tgt, "--limit", "5"); code != 0 || !strings.Contains(out, "BLEU") {
		t.Errorf("eval: exit %d, output %q\n%s", code, out, errs)
	}
	// glossa serve loads the folder as an encoder-decoder.
	if m, err := serve.Load(run, serve.LoadOptions{}); err != nil || m.Text2Text == nil {
		t.Errorf("serve.Load: %v (an encoder-decoder: %v)", err, err == nil && m.Text2Text != nil)
	}
}

// TestFinetuneSeq2seqBadInput checks that bad data and flags give clear
// errors.
func TestFinetuneSeq2seqBadInput(t *testing.T) {
	spm := testenv.Shared(t, "tokenizers", "multi30k-unigram", "multi30k-unigram.model")
	tmp := t.TempDir()
	src, tgt := writeParallel(t, tmp, 10)
	short := filepath.Join(tmp, "short.tgt")
	os.WriteFile(short, []byte("one line\n"), 0o644)
	notSPM := filepath.Join(tmp, "bad.model")
	os.WriteFile(notSPM, []byte("not a sentencepiece model"), 0o644)
	base := []string{"finetune", "--task", "seq2seq", "--out", filepath.Join(tmp, "out"), "--progress", "off",
		"--encoder-layers", "1", "--decoder-layers", "1", "--width", "8", "--heads", "2", "--steps", "1"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no data", []string{"--tokenizer", spm}, 2, "--source"},
		{"no tokenizer", []string{"--source", src, "--target", tgt}, 2, "--tokenizer"},
		{"misaligned", []string{"--tokenizer", spm, "--source", src, "--target", short}, 1, "lines"},
		{"missing file", []string{"--tokenizer", spm, "--source", src, "--target", filepath.Join(tmp, "nope")}, 1, "nope"},
		{"not a model", []string{"--tokenizer", notSPM, "--source", src, "--target", tgt}, 1, "bad.model"},
		{"heads", []string{"--tokenizer", spm, "--source", src, "--target", tgt, "--heads", "3"}, 2, "multiple of heads"},
		{"heldout", []string{"--tokenizer", spm, "--source", src, "--target", tgt, "--heldout", "10"}, 2, "--heldout"},
		{"activation", []string{"--tokenizer", spm, "--source", src, "--target", tgt, "--activation", "swiglu"}, 2, "--activation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := glossa(t, append(base, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errs, tc.want)
			}
		})
	}
}
