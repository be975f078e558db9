package seq2seq

import (
	"strings"
	"testing"
)

// t5-small's config.json carries task_specific_params; the task's keys
// override the model's generation defaults, the rest stay.
func TestTaskParams(t *testing.T) {
	config := `{"model_type": "t5", "vocab_size": 100, "d_model": 16, "d_kv": 4, "d_ff": 32, "num_layers": 1,
		"num_heads": 4, "decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0, "num_beams": 2, "max_length": 30,
		"task_specific_params": {
			"summarization": {"prefix": "summarize: ", "num_beams": 4, "min_length": 3, "no_repeat_ngram_size": 3, "length_penalty": 2.0, "early_stopping": true},
			"translation_en_to_de": {"prefix": "translate English to German: ", "max_length": 12}}}`
	m, err := New([]byte(config), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.TaskNames(), ","); got != "summarization,translation_en_to_de" {
		t.Errorf("TaskNames = %s", got)
	}
	prefix, g, ok := m.Task("summarization")
	o := g.Options()
	if !ok || prefix != "summarize: " || o.NumBeams != 4 || o.MinLength != 3 || o.NoRepeatNGramSize != 3 ||
		o.LengthPenalty != 2 || !o.EarlyStopping || o.MaxNewTokens != 29 || len(o.StopTokens) != 1 || o.StopTokens[0] != 1 {
		t.Errorf("summarization: %q %+v", prefix, o)
	}
	prefix, g, _ = m.Task("translation_en_to_de")
	if o := g.Options(); prefix != "translate English to German: " || o.NumBeams != 2 || o.MaxNewTokens != 11 {
		t.Errorf("translation: %q %+v", prefix, o)
	}
	if _, g, ok := m.Task("nope"); ok || g.Options().NumBeams != 2 {
		t.Error("unknown task: ok or not the model's defaults")
	}
	bad := strings.Replace(config, `"max_length": 12`, `"forced_bos_token_id": 500`, 1)
	if _, err := New([]byte(bad), 1, nil); err == nil || !strings.Contains(err.Error(), "translation_en_to_de") {
		t.Errorf("bad task token id: %v", err)
	}
}
