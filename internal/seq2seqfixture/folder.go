// Package seq2seqfixture writes the tiny encoder-decoder fixtures of the
// shared folder as Hub-style model folders for tests and examples (apart
// from testenv, which the tokenizer packages' own tests import).
package seq2seqfixture

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer/unigram"
)

// Folder writes into dir a copy of a 1000-token encoder-decoder
// fixture of the shared folder (marian-tiny, t5-tiny, bart-tiny) with a
// Marian-layout tokenizer, so that it loads as a Hub model does: the
// Multi30k Unigram model as source.spm and target.spm, and a vocab.json of
// </s> 0, <unk> 1, the model's first 997 other pieces and <pad> 999. The
// keys of extraConfig are set in its config.json (task_specific_params, …).
// The fixtures' weights are random: their texts mean nothing.
func Folder(dir, fixture string, extraConfig map[string]any) error {
	shared := testenv.SharedDir()
	if shared == "" {
		return fmt.Errorf("testenv: shared data missing (set %s)", testenv.EnvVar)
	}
	spm, err := os.ReadFile(filepath.Join(shared, "tokenizers", "multi30k-unigram", "multi30k-unigram.model"))
	if err != nil {
		return err
	}
	m, err := unigram.ParseModel(spm)
	if err != nil {
		return err
	}
	vocab := map[string]int{"</s>": 0, "<unk>": 1}
	for id := 3; len(vocab) < 999; id++ {
		p, _ := m.IDToToken(id)
		vocab[p] = len(vocab)
	}
	vocab["<pad>"] = 999
	vj, err := json.Marshal(vocab)
	if err != nil {
		return err
	}
	files := map[string][]byte{"source.spm": spm, "target.spm": spm, "vocab.json": vj}
	for _, name := range []string{"config.json", "generation_config.json", "model.safetensors"} {
		if files[name], err = os.ReadFile(filepath.Join(shared, "fixtures", fixture, name)); err != nil {
			return err
		}
	}
	if extraConfig != nil {
		var cfg map[string]any
		if err := json.Unmarshal(files["config.json"], &cfg); err != nil {
			return err
		}
		for k, v := range extraConfig {
			cfg[k] = v
		}
		if files["config.json"], err = json.Marshal(cfg); err != nil {
			return err
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
