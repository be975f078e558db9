package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tokenizer"
)

// The transformers.js 4.3.2 goldens of ../shared/golden/hf_pipelines: every
// line whose python_differences is empty must match (labels, entity
// groups, words, spans and tokens exactly; scores within 1e-4 relative,
// feature vectors within 1e-5); the others record where transformers.js
// departs from Python's transformers, and tests below show the difference
// the README predicts.

// goldenLine is one pipeline call of a goldens file.
type goldenLine struct {
	Case            string          `json:"case"`
	Task            string          `json:"task"`
	Model           string          `json:"model"`
	Inputs          json.RawMessage `json:"inputs"`
	Question        json.RawMessage `json:"question"`
	Context         json.RawMessage `json:"context"`
	CandidateLabels json.RawMessage `json:"candidate_labels"`
	Options         map[string]any  `json:"options"`
	Output          json.RawMessage `json:"output"`
	Error           string          `json:"error"`
	Spans           [][][2]int      `json:"span_token_indices"`
	Differences     []string        `json:"python_differences"`
	encoding        json.RawMessage // "encoding" (one per call)
}

// UnmarshalJSON keeps the encoding aside (its layout differs per task).
func (g *goldenLine) UnmarshalJSON(b []byte) error {
	type plain goldenLine
	var v struct {
		plain
		Encoding json.RawMessage `json:"encoding"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*g = goldenLine(v.plain)
	g.encoding = v.Encoding
	return nil
}

// call returns the line's call in the JSON form CallJSON takes: the
// arguments and, alternately, the options at the top level or under
// "options".
func (g goldenLine) call(nested bool) json.RawMessage {
	c := map[string]any{}
	for k, v := range map[string]json.RawMessage{"inputs": g.Inputs, "question": g.Question, "context": g.Context, "candidate_labels": g.CandidateLabels} {
		if v != nil {
			c[k] = v
		}
	}
	if nested {
		c["options"] = g.Options
	} else {
		for k, v := range g.Options {
			c[k] = v
		}
	}
	raw, _ := json.Marshal(c)
	return raw
}

func readGolden(t *testing.T, file string) []goldenLine { return readGoldenTB(t, file) }

func readGoldenTB(t testing.TB, file string) []goldenLine {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "golden", "hf_pipelines", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []goldenLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var g goldenLine
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, g)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

var (
	goldenMu        sync.Mutex
	goldenPipelines = map[string]Pipeline{}
)

// goldenPipeline loads (once) the pipeline of task over a goldens model.
func goldenPipeline(t *testing.T, task, model string) Pipeline {
	t.Helper()
	goldenMu.Lock()
	defer goldenMu.Unlock()
	key := task + " " + model
	if p, ok := goldenPipelines[key]; ok {
		return p
	}
	tk, err := ParseTask(task)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), tk, testenv.Shared(t, "golden", "hf_pipelines", "models", model), nil)
	if err != nil {
		t.Fatal(err)
	}
	goldenPipelines[key] = p
	return p
}

// compareJSON compares got with want: objects on want's keys (Glossa adds
// the start/end offsets transformers.js leaves out), lists element by
// element, scores within relative tolerance rel, feature values ("data")
// within abs, everything else exactly. It returns the first difference.
func compareJSON(got, want any, path string, rel, abs float64) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %v, want an object", path, got)
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s.%s: missing", path, k)
			}
			if d := compareJSON(gv, w[k], path+"."+k, rel, abs); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %s, want %d elements", path, short(got), len(w))
		}
		for i := range w {
			if d := compareJSON(g[i], w[i], fmt.Sprintf("%s[%d]", path, i), rel, abs); d != "" {
				return d
			}
		}
	case float64:
		g, ok := got.(float64)
		switch {
		case !ok:
			return fmt.Sprintf("%s: got %v, want %v", path, got, w)
		case strings.HasSuffix(path, "score") || strings.Contains(path, ".scores["):
			if math.Abs(g-w) > rel*math.Abs(w) {
				return fmt.Sprintf("%s: got %v, want %v (relative %.2g)", path, g, w, math.Abs(g-w)/math.Abs(w))
			}
		case strings.Contains(path, ".data["):
			if math.Abs(g-w) > abs {
				return fmt.Sprintf("%s: got %v, want %v", path, g, w)
			}
		case g != w:
			return fmt.Sprintf("%s: got %v, want %v", path, g, w)
		}
	default:
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Sprintf("%s: got %q, want %q", path, got, want)
		}
	}
	return ""
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// asJSON round-trips v through JSON into plain values.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// runGolden checks every line of file with an empty python_differences
// through CallJSON (transform, when not nil, maps Glossa's value to the
// goldens' form) and returns the other lines with Glossa's results.
func runGolden(t *testing.T, file string, transform func(g goldenLine, v any) any) (matched int, differing []goldenLine, results []Result) {
	t.Helper()
	for i, g := range readGolden(t, file) {
		p := goldenPipeline(t, g.Task, g.Model)
		r := p.CallJSON(context.Background(), g.call(i%2 == 1))[0]
		if len(g.Differences) > 0 {
			differing = append(differing, g)
			results = append(results, r)
			continue
		}
		if g.Error != "" {
			if r.Err == nil {
				t.Errorf("%s %v: no error, want %q", g.Case, g.Options, g.Error)
			}
			continue
		}
		if r.Err != nil {
			t.Errorf("%s %v: %v", g.Case, g.Options, r.Err)
			continue
		}
		v := r.Value
		if transform != nil {
			v = transform(g, v)
		}
		var want any
		if err := json.Unmarshal(g.Output, &want); err != nil {
			t.Fatal(err)
		}
		if d := compareJSON(asJSON(t, v), want, g.Case, 1e-4, 1e-5); d != "" {
			t.Errorf("%s %v: %s", g.Case, g.Options, d)
			continue
		}
		matched++
	}
	t.Logf("%s: %d lines match, %d differ by design", file, matched, len(differing))
	return matched, differing, results
}

func TestGoldenFillMask(t *testing.T) {
	_, diff, res := runGolden(t, "fill_mask.jsonl", nil)
	// Several masks: transformers.js fills only the first; Python (and
	// Glossa) returns one list per mask, and keeps [CLS] and [SEP] in the
	// sequences. The first list has transformers.js's tokens and scores.
	for i, g := range diff {
		if res[i].Err != nil {
			t.Errorf("%s: %v", g.Case, res[i].Err)
			continue
		}
		out := res[i].Value.(FillMaskOutput)
		var want []FillMaskResult
		json.Unmarshal(g.Output, &want)
		if len(out) != 2 || len(out[0]) != len(want) {
			t.Fatalf("%s: %d lists, want 2", g.Case, len(out))
		}
		for k, w := range want {
			if got := out[0][k]; got.Token != w.Token || math.Abs(got.Score-w.Score) > 1e-4*w.Score || !strings.HasPrefix(got.Sequence, "[CLS] ") {
				t.Errorf("%s: first mask, prediction %d: %+v, want token %d score %g", g.Case, k, got, w.Token, w.Score)
			}
		}
	}
}

func TestGoldenTokenClassification(t *testing.T) {
	_, diff, res := runGolden(t, "token_classification.jsonl", nil)
	for i, g := range diff {
		if res[i].Err != nil {
			t.Errorf("%s: %v", g.Case, res[i].Err)
			continue
		}
		p := goldenPipeline(t, g.Task, g.Model).(*TokenClassification)
		var inputs []string
		single := json.Unmarshal(g.Inputs, &inputs) != nil
		if single {
			var s string
			json.Unmarshal(g.Inputs, &s)
			inputs = []string{s}
		}
		var want any
		json.Unmarshal(g.Output, &want)
		if single {
			want = []any{want}
		}
		got := res[i].Value
		if single {
			got = [][]Entity{got.([]Entity)}
		}
		switch {
		case strings.Contains(g.Differences[0], "simple grouping"):
			// transformers.js drops the "O" tokens first and groups what
			// is left, so entities merge across an "O"; Python groups
			// first. Grouping Glossa's own tokens in transformers.js's
			// order gives transformers.js's result; Glossa's is different.
			all, err := p.Run(context.Background(), inputs, &TokenClassificationOptions{IgnoreLabels: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			var js [][]Entity
			for _, toks := range all {
				var kept []Entity
				for _, e := range toks {
					if e.Entity != "O" {
						kept = append(kept, e)
					}
				}
				js = append(js, p.group(kept))
			}
			if d := compareJSON(asJSON(t, js), want, g.Case, 1e-4, 0); d != "" {
				t.Errorf("%s: grouping after filtering does not give transformers.js's result: %s", g.Case, d)
			}
			if compareJSON(asJSON(t, got), want, g.Case, 1e-4, 0) == "" {
				t.Errorf("%s: Glossa's simple grouping equals transformers.js's, which merges across O", g.Case)
			}
		case strings.Contains(g.Differences[0], "truncated"):
			checkTruncation(t, g, p.m, inputs[0], "")
		default:
			t.Errorf("%s: unexpected difference %q", g.Case, g.Differences)
		}
	}
}

// checkTruncation shows the difference of a text longer than the model:
// transformers.js cuts the encoding at 128 tokens and loses the final
// [SEP]; Python (and Glossa) keeps [SEP] within the 128, so the encoding
// is transformers.js's first 127 tokens and [SEP].
func checkTruncation(t *testing.T, g goldenLine, m *model, text, pair string) {
	t.Helper()
	var enc struct {
		IDs [][]int `json:"input_ids"`
	}
	if err := json.Unmarshal(g.encoding, &enc); err != nil || len(enc.IDs) == 0 {
		t.Fatalf("%s: encoding: %v", g.Case, err)
	}
	js := enc.IDs[0]
	var e tokenizer.Encoding
	var err error
	if pair != "" {
		e, err = m.trunc.EncodePair(text, pair)
	} else {
		e, err = m.trunc.Encode(text)
	}
	if err != nil {
		t.Fatal(err)
	}
	sep, _ := m.tok.TokenToID("[SEP]")
	n := len(js)
	if n != m.maxLen || js[n-1] == sep || e.Len() != n || e.IDs[n-1] != sep || !slices.Equal(e.IDs[:n-1], js[:n-1]) {
		t.Errorf("%s: transformers.js's %d tokens end in %d; Glossa's %d end in %d", g.Case, n, js[n-1], e.Len(), e.IDs[e.Len()-1])
	}
}

// TestGoldenQuestionAnswering compares the candidate spans of each window
// — before Python's post-processing, which transformers.js does not have
// (answers widened to whole words, the context's own text, scores of equal
// answers summed) — with transformers.js's span_token_indices, scores and
// answers (transformers.js decodes the span's tokens).
func TestGoldenQuestionAnswering(t *testing.T) {
	matched, differing := 0, 0
	for _, g := range readGolden(t, "question_answering.jsonl") {
		p := goldenPipeline(t, g.Task, g.Model).(*QuestionAnswering)
		var inputs []QAInput
		var qs, cs []string
		if json.Unmarshal(g.Question, &qs) != nil {
			var q, c string
			json.Unmarshal(g.Question, &q)
			json.Unmarshal(g.Context, &c)
			qs, cs = []string{q}, []string{c}
		} else {
			json.Unmarshal(g.Context, &cs)
		}
		for i := range qs {
			inputs = append(inputs, QAInput{qs[i], cs[i]})
		}
		topK := int(g.Options["top_k"].(float64))
		st, err := p.settings(&QAOptions{TopK: topK})
		if err != nil {
			t.Fatal(err)
		}
		feats, _, err := p.features(inputs, st)
		if err != nil {
			t.Fatal(err)
		}
		var want []any
		var w any
		json.Unmarshal(g.Output, &w)
		switch w := w.(type) {
		case []any:
			want = w
		default:
			want = []any{w}
		}
		if len(inputs) > 1 || topK == 1 {
			want = [][]any{want}[0]
		}
		for row := range inputs {
			var rowWant []any
			switch {
			case len(inputs) > 1 && topK == 1:
				rowWant = []any{want[row]}
			case len(inputs) > 1:
				rowWant = want[row].([]any)
			default:
				rowWant = want
			}
			var f *tokenizer.Encoding
			var windows int
			for _, ft := range feats {
				if ft.input == row {
					if f == nil {
						f = ft.enc
					}
					windows++
				}
			}
			if len(g.Differences) > 0 && strings.Contains(strings.Join(g.Differences, " "), "truncated") {
				// transformers.js cuts the context at 128 tokens; Python
				// (and Glossa) reads all of it in windows of max_seq_len
				// 128 sharing doc_stride 64 tokens, each ending in [SEP].
				sep, _ := p.m.tok.TokenToID("[SEP]")
				for _, ft := range feats {
					if e := ft.enc; e.Len() > 128 || e.IDs[e.Len()-1] != sep {
						t.Errorf("%s: a window of %d tokens ending in %d", g.Case, e.Len(), e.IDs[e.Len()-1])
					}
				}
				if windows < 2 {
					t.Errorf("%s: %d windows, want the context split", g.Case, windows)
				}
				differing++
				continue
			}
			ws := p.m.workspace()
			start, end, err := p.m.enc.AnswerSpans(ws, pad(bert.Input{}, []*tokenizer.Encoding{f}, 0))
			if err != nil {
				t.Fatal(err)
			}
			spans, _ := p.spans(f, start, end, st)
			p.m.release(ws)
			jsSpans := g.Spans[row]
			if len(g.Differences) > 0 {
				// No max_answer_len in transformers.js: its spans of at most
				// 15 tokens lead Glossa's list, longer ones are not in it.
				var short [][2]int
				for _, s := range jsSpans {
					if s[1]-s[0]+1 <= 15 {
						short = append(short, s)
					}
				}
				if len(short) == len(jsSpans) {
					t.Errorf("%s: no span longer than 15 tokens", g.Case)
				}
				for k, s := range short {
					if k >= len(spans) || spans[k].s != s[0] || spans[k].e != s[1] {
						t.Errorf("%s: span %d is %v, want transformers.js's %v", g.Case, k, spans, short)
						break
					}
				}
				for _, s := range spans {
					if s.e-s.s+1 > 15 {
						t.Errorf("%s: span %v longer than max_answer_len", g.Case, s)
					}
				}
				differing++
				continue
			}
			if len(spans) != len(jsSpans) {
				t.Errorf("%s row %d: %d spans, want %d", g.Case, row, len(spans), len(jsSpans))
				continue
			}
			bad := false
			for k, s := range spans {
				ans := rowWant[k].(map[string]any)
				text, _ := p.m.tok.Decode(f.IDs[s.s:s.e+1], true)
				score := ans["score"].(float64)
				if s.s != jsSpans[k][0] || s.e != jsSpans[k][1] || text != ans["answer"] || math.Abs(s.score-score) > 1e-4*score {
					t.Errorf("%s row %d answer %d: span [%d, %d] %q %g, want %v %q %g", g.Case, row, k, s.s, s.e, text, s.score, jsSpans[k], ans["answer"], score)
					bad = true
				}
			}
			if !bad {
				matched++
			}
		}
	}
	t.Logf("question_answering.jsonl: %d rows match, %d differ by design", matched, differing)
}

func TestGoldenFeatureExtraction(t *testing.T) {
	// transformers.js returns a Tensor {dims, type, data}: the same numbers.
	asTensor := func(_ goldenLine, v any) any {
		fs, ok := v.([]Features)
		if !ok {
			fs = []Features{v.(Features)}
		}
		var data []float32
		dims := []int{len(fs), 0}
		for _, f := range fs {
			data = append(data, f.Data...)
			dims[1] = f.Rows
			if f.Pooled {
				dims[1] = f.Dim
			} else if len(dims) == 2 {
				dims = append(dims, f.Dim)
			}
		}
		return map[string]any{"dims": dims, "type": "float32", "data": data}
	}
	_, diff, res := runGolden(t, "feature_extraction.jsonl", asTensor)
	for i, g := range diff {
		if res[i].Err != nil {
			t.Errorf("%s: %v", g.Case, res[i].Err)
			continue
		}
		if !strings.Contains(g.Differences[0], "truncated") {
			t.Errorf("%s: unexpected difference %q", g.Case, g.Differences)
			continue
		}
		var s string
		json.Unmarshal(g.Inputs, &s)
		checkTruncation(t, g, goldenPipeline(t, g.Task, g.Model).(*FeatureExtraction).m, s, "")
	}
}

func TestGoldenZeroShot(t *testing.T) {
	if n, diff, _ := runGolden(t, "zero_shot_classification.jsonl", nil); len(diff) > 0 || n == 0 {
		t.Errorf("%d lines match, %d differ; the README expects every line to agree with Python", n, len(diff))
	}
}
