package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPretrainElectra pretrains a tiny ELECTRA, checks the two folders
// (the discriminator as ElectraForPreTraining, the generator beside it),
// the metrics of both networks in metrics.jsonl, and that "glossa
// finetune" and "glossa classify" use the discriminator as they use a BERT.
func TestPretrainElectra(t *testing.T) {
	tmp := t.TempDir()
	docs := writeDocs(t, tmp, 400)
	out := filepath.Join(tmp, "electra")
	code, stdout, stderr := glossa(t, "pretrain", "--objective", "electra", "--train-tokenizer", "--vocab-size", "200",
		"--data", docs, "--out", out, "--cache-dir", filepath.Join(tmp, "cache"), "--layers", "1", "--width", "32",
		"--embedding-size", "16", "--heads", "2", "--block-size", "32", "--batch-size", "8", "--steps", "6",
		"--warmup", "2", "--eval-every", "3", "--log-every", "2", "--progress", "off")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, k := range []string{"disc_accuracy", "gen_accuracy", "disc_loss", "gen_loss"} {
		if !strings.Contains(stdout, k) {
			t.Errorf("output lacks %s:\n%s", k, stdout)
		}
	}
	for f, want := range map[string]string{"config.json": `"ElectraForPreTraining"`,
		"generator/config.json": `"ElectraForMaskedLM"`, "vocab.txt": "[MASK]"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, lacks %s", f, err, want)
		}
	}
	// Train records carry both losses and the discriminator's accuracy.
	mf, err := os.Open(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	trains := 0
	for sc := bufio.NewScanner(mf); sc.Scan(); {
		var rec struct {
			Split   string             `json:"split"`
			Metrics map[string]float64 `json:"metrics"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Split != "train" {
			continue
		}
		trains++
		for _, k := range []string{"gen_loss", "disc_loss", "disc_accuracy", "gen_accuracy", "grad_norm"} {
			if _, ok := rec.Metrics[k]; !ok {
				t.Errorf("train record lacks %s: %v", k, rec.Metrics)
			}
		}
	}
	if trains != 3 {
		t.Errorf("%d train records, want 3 (6 steps, one every 2)", trains)
	}
	trainTSV, devTSV := filepath.Join(tmp, "train.tsv"), filepath.Join(tmp, "dev.tsv")
	writeTSV(t, trainTSV, 32)
	writeTSV(t, devTSV, 8)
	ft := filepath.Join(tmp, "ft")
	code, stdout, stderr = glossa(t, "finetune", "--model", out, "--train", trainTSV, "--dev", devTSV, "--out", ft,
		"--steps", "4", "--batch-size", "8", "--progress", "off")
	if code != 0 || !strings.Contains(stdout, "dev accuracy") {
		t.Fatalf("finetune from ELECTRA: exit %d\n%s\n%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(ft, "config.json"))
	if err != nil || !strings.Contains(string(b), `"ElectraForSequenceClassification"`) {
		t.Errorf("fine-tuned config: %v\n%s", err, b)
	}
	if code, stdout, stderr = glossa(t, "classify", "--model", ft, "the film was great indeed"); code != 0 {
		t.Errorf("classify: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
