package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// TestLoadEncoders: one load serves the tasks each fixture's heads allow,
// names the head of the others, and answers as the task's own Load does.
func TestLoadEncoders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		roberta bool
		tasks   []Task
		call    string // a call of tasks[0], answered as by Load
	}{
		{"minilm-sentence-tiny", false, []Task{FeatureExtractionTask}, ""},
		{"distilbert-tiny-cls", false, []Task{TextClassificationTask, FeatureExtractionTask}, `{"inputs": ["w5 w6", "w7"], "top_k": 2}`},
		{"distilbert-tiny-qa", false, []Task{QuestionAnsweringTask, FeatureExtractionTask}, ""},
		{"roberta-tiny-cls", true, []Task{TextClassificationTask, FeatureExtractionTask, ZeroShotTask}, ""},
		{"roberta-tiny-mlm", true, []Task{FillMaskTask, FeatureExtractionTask}, `{"inputs": "w5 <mask> w7", "top_k": 3}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testenv.Shared(t, "fixtures", tc.name)
			opts := &Options{Tokenizer: testenv.IDTokenizer(t, tc.roberta)}
			e, err := LoadEncoders(context.Background(), dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Tasks(); !slices.Equal(got, tc.tasks) {
				t.Errorf("tasks %v, want %v", got, tc.tasks)
			}
			for _, task := range []Task{FillMaskTask, TextClassificationTask, TokenClassificationTask, QuestionAnsweringTask, ZeroShotTask} {
				_, err := e.Pipeline(task)
				if slices.Contains(tc.tasks, task) != (err == nil) {
					t.Errorf("%s: %v", task, err)
				}
			}
			if _, err := e.Pipeline(TokenClassificationTask); !errors.Is(err, ErrNoHead) {
				t.Errorf("token-classification: %v, want ErrNoHead", err)
			}
			if _, err := e.Pipeline(TextGenerationTask); !errors.Is(err, ErrInput) {
				t.Errorf("text-generation: %v", err)
			}
			if tc.call == "" {
				return
			}
			own, err := Load(context.Background(), tc.tasks[0], dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			shared, _ := e.Pipeline(tc.tasks[0])
			want, _ := json.Marshal(own.CallJSON(context.Background(), json.RawMessage(tc.call))[0].Value)
			got, _ := json.Marshal(shared.CallJSON(context.Background(), json.RawMessage(tc.call))[0].Value)
			if string(got) != string(want) {
				t.Errorf("shared pipeline %s\nown pipeline    %s", got, want)
			}
		})
	}
}
