package text2text

import (
	"fmt"

	"github.com/glossa-ai/glossa/metrics"
)

// Task is the kind of text-to-text task, which decides the metric.
type Task uint8

const (
	// Translation is scored with corpus BLEU.
	Translation Task = iota
	// Summarization is scored with ROUGE-1/2/L/Lsum.
	Summarization
)

// String returns "translation" or "summarization".
func (t Task) String() string {
	switch t {
	case Translation:
		return "translation"
	case Summarization:
		return "summarization"
	}
	return fmt.Sprintf("Task(%d)", uint8(t))
}

// ParseTask parses "translation" or "summarization".
func ParseTask(s string) (Task, error) {
	for _, t := range []Task{Translation, Summarization} {
		if s == t.String() {
			return t, nil
		}
	}
	return 0, fmt.Errorf("text2text: unknown task %q (want translation or summarization)", s)
}

// ScoreOptions configure Score. The zero value is sacreBLEU's and
// rouge-score's defaults, with sentences split for ROUGE-Lsum.
type ScoreOptions struct {
	BLEU  metrics.BLEUOptions
	ROUGE metrics.ROUGEOptions
	// KeepLines scores ROUGE-Lsum on the texts' own lines only, instead of
	// first putting every sentence on its own line (SentenceLines).
	KeepLines bool
}

// Report is the score of a set of hypotheses.
type Report struct {
	Task     Task
	Examples int
	BLEU     *metrics.BLEU  // translation
	ROUGE    *metrics.ROUGE // summarization
}

// String prints the BLEU line and its signature, or the ROUGE F-measures.
func (r Report) String() string {
	if r.BLEU != nil {
		return fmt.Sprintf("%s\nsignature: %s", r.BLEU, r.BLEU.Signature)
	}
	if r.ROUGE != nil {
		return r.ROUGE.String()
	}
	return "no score"
}

// Score scores hyps[i] against examples[i].Refs with the task's metric.
func Score(task Task, hyps []string, examples []Example, opts *ScoreOptions) (Report, error) {
	if opts == nil {
		opts = &ScoreOptions{}
	}
	if len(hyps) != len(examples) {
		return Report{}, fmt.Errorf("text2text: %d hypotheses for %d examples", len(hyps), len(examples))
	}
	refs := make([][]string, len(examples))
	for i, e := range examples {
		refs[i] = e.Refs
	}
	r := Report{Task: task, Examples: len(hyps)}
	switch task {
	case Translation:
		b, err := metrics.CorpusBLEU(hyps, refs, &opts.BLEU)
		if err != nil {
			return r, err
		}
		r.BLEU = &b
	case Summarization:
		if !opts.KeepLines {
			hyps = mapStrings(hyps, SentenceLines)
			for i := range refs {
				refs[i] = mapStrings(refs[i], SentenceLines)
			}
		}
		s, err := metrics.CorpusROUGE(hyps, refs, &opts.ROUGE)
		if err != nil {
			return r, err
		}
		r.ROUGE = &s
	default:
		return r, fmt.Errorf("text2text: %v", task)
	}
	return r, nil
}

func mapStrings(s []string, f func(string) string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = f(x)
	}
	return out
}
