package seq2seq

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// TaskParams is one entry of config.json's task_specific_params (t5-small's
// "summarization" and "translation_en_to_de", bart-large-cnn's
// "summarization"): the text to put before each source and the decoding
// defaults of the task, which Hugging Face's pipelines apply over the
// model's.
type TaskParams struct {
	// Prefix goes before every source text ("summarize: ").
	Prefix string `json:"prefix"`
	GenerationConfig
}

// parseTaskParams decodes config.json's task_specific_params (absent:
// nil), checking each entry's token ids and sizes against V.
func parseTaskParams(data []byte, V int) (map[string]TaskParams, error) {
	var raw struct {
		Tasks map[string]json.RawMessage `json:"task_specific_params"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("seq2seq: config.json: %w", err)
	}
	if len(raw.Tasks) == 0 {
		return nil, nil
	}
	tasks := make(map[string]TaskParams, len(raw.Tasks))
	for name, r := range raw.Tasks {
		var p TaskParams
		if err := json.Unmarshal(r, &p); err != nil {
			return nil, fmt.Errorf("seq2seq: config.json: task_specific_params.%s: %w", name, err)
		}
		if err := p.check(V); err != nil {
			return nil, fmt.Errorf("%w (task_specific_params.%s)", err, name)
		}
		tasks[name] = p
	}
	return tasks, nil
}

// TaskNames lists the model's task_specific_params entries, sorted.
func (m *Model) TaskNames() []string { return slices.Sorted(maps.Keys(m.Tasks)) }

// Task returns the prefix and the decoding defaults of a
// task_specific_params entry: the task's generation keys over the model's
// (Generation), as Hugging Face's pipelines update the generation config
// with them. ok is false when the model has no such entry.
func (m *Model) Task(name string) (prefix string, gen GenerationConfig, ok bool) {
	p, ok := m.Tasks[name]
	if !ok {
		return "", m.Generation, false
	}
	gen = p.GenerationConfig
	gen.BadWordsIDs = slices.Clone(gen.BadWordsIDs)
	gen.merge(m.Generation)
	return p.Prefix, gen, true
}
