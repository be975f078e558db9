package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/glossa-ai/glossa/infer"
	"github.com/glossa-ai/glossa/internal/testenv"
)

// goldenModel returns the folder of one of the hf_pipelines tiny models.
func goldenModel(t testing.TB, name string) string {
	return testenv.Shared(t, "golden", "hf_pipelines", "models", name)
}

// TestBadInput: calls a user can get wrong are answered with an error
// wrapping ErrInput that says what is wrong, never a panic.
func TestBadInput(t *testing.T) {
	long := strings.Repeat("word ", 200)
	for _, tc := range []struct {
		task, model, call, msg string
	}{
		{"fill-mask", "bert-tiny-mlm", `{"inputs": "no mask here"}`, "no mask token ([MASK])"},
		{"fill-mask", "bert-tiny-mlm", `{"inputs": ""}`, "no mask token"},
		{"fill-mask", "bert-tiny-mlm", `{"inputs": []}`, "empty list"},
		{"fill-mask", "bert-tiny-mlm", `{"text": "[MASK]"}`, `no "inputs"`},
		{"fill-mask", "bert-tiny-mlm", `{"inputs": "[MASK]", "top_k": -1}`, "top_k"},
		{"fill-mask", "bert-tiny-mlm", `{"inputs": "[MASK]", "top_q": 1}`, `unknown option "top_q"`},
		{"fill-mask", "bert-tiny-mlm", `{"inputs": "[MASK]", "top_k": "three"}`, "top_k is string"},
		{"fill-mask", "bert-tiny-mlm", `{"inputs": "[MASK]", "targets": ["  "]}`, "at least one target"},
		{"fill-mask", "bert-tiny-mlm", `{"inputs": "[MASK] ` + long + `"}`, "more than the model's 128"},
		{"fill-mask", "bert-tiny-mlm", `"[MASK]"`, "a call is a JSON object"},
		{"fill-mask", "bert-tiny-mlm", `null`, "a call is a JSON object"},
		{"fill-mask", "bert-tiny-mlm", `{"inputs": "[MASK]", "options": 3}`, `"options" must be an object`},
		{"fill-mask", "bert-tiny-mlm", `{"inputs": "[MASK]", "top_k": 2, "options": {"top_k": 3}}`, "given twice"},
		{"text-classification", "bert-tiny-nli", `{"inputs": "a", "function_to_apply": "relu"}`, "not softmax, sigmoid or none"},
		{"text-classification", "bert-tiny-nli", `{"inputs": "a", "top_k": -2}`, "top_k"},
		{"text-classification", "bert-tiny-nli", `{"inputs": "` + long + `"}`, "truncate it"},
		{"text-classification", "bert-tiny-nli", `{"inputs": {"txt": "a"}}`, `needs "text"`},
		{"token-classification", "bert-tiny-ner", `{"inputs": "a", "aggregation_strategy": "longest"}`, "not none, simple, first"},
		{"token-classification", "bert-tiny-ner", `{"inputs": "a", "stride": 8}`, `aggregation_strategy "none" cannot merge`},
		{"token-classification", "bert-tiny-ner", `{"inputs": 5}`, "a string or a list of strings"},
		{"question-answering", "bert-tiny-qa", `{"question": "who?", "context": ""}`, "the context is empty"},
		{"question-answering", "bert-tiny-qa", `{"question": "who?", "context": "   "}`, "the context is empty"},
		{"question-answering", "bert-tiny-qa", `{"question": "` + long + `", "context": "it was me"}`, "leaves no room for the context"},
		{"question-answering", "bert-tiny-qa", `{"question": "who is it?", "context": "me", "max_seq_len": 6}`, "leaves no room"},
		{"question-answering", "bert-tiny-qa", `{"question": "who?", "context": "me", "max_seq_len": 16, "doc_stride": 20}`, "larger than max_seq_len"},
		{"question-answering", "bert-tiny-qa", `{"question": "who?", "context": "me", "max_seq_len": 512}`, "longer than the model's 128"},
		{"question-answering", "bert-tiny-qa", `{"question": "who?", "context": "me", "max_answer_len": -1}`, "max_answer_len"},
		{"question-answering", "bert-tiny-qa", `{"question": ["a", "b"], "context": ["c", "d", "e"]}`, "2 questions and 3 contexts"},
		{"question-answering", "bert-tiny-qa", `{"context": "me"}`, `no "question"`},
		{"question-answering", "bert-tiny-qa", `{"question": "who?", "context": "!"}`, ""},
		{"zero-shot-classification", "bert-tiny-nli", `{"inputs": "a"}`, `no "candidate_labels"`},
		{"zero-shot-classification", "bert-tiny-nli", `{"inputs": "a", "candidate_labels": " , "}`, "at least one label"},
		{"zero-shot-classification", "bert-tiny-nli", `{"inputs": "a", "candidate_labels": ["x"], "hypothesis_template": "It is"}`, "needs {}"},
		{"feature-extraction", "bert-tiny-embed", `{"inputs": "a", "pooling": "median"}`, "pooling \"median\""},
	} {
		p := goldenPipeline(t, tc.task, tc.model)
		r := p.CallJSON(context.Background(), json.RawMessage(tc.call))[0]
		if tc.msg == "" { // a valid, if odd, call
			if r.Err != nil {
				t.Errorf("%s %s: %v", tc.task, tc.call, r.Err)
			}
			continue
		}
		if r.Err == nil || !errors.Is(r.Err, ErrInput) || !strings.Contains(r.Err.Error(), tc.msg) {
			t.Errorf("%s %.80s: %v, want an input error about %q", tc.task, tc.call, r.Err, tc.msg)
		}
	}
}

// TestMissingHead: a model without the head a task needs is refused at
// load, naming the head and the model's architectures.
func TestMissingHead(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		task  Task
		model string
		want  []string
	}{
		{TokenClassificationTask, "bert-tiny-qa", []string{"TokenClassification", "classifier", "BertForQuestionAnswering"}},
		{FillMaskTask, "bert-tiny-ner", []string{"MaskedLM", "cls.predictions", "BertForTokenClassification"}},
		{QuestionAnsweringTask, "bert-tiny-mlm", []string{"QuestionAnswering", "qa_outputs", "BertForMaskedLM"}},
		{ZeroShotTask, "bert-tiny-embed", []string{"SequenceClassification", "BertModel"}},
	} {
		_, err := Load(ctx, tc.task, goldenModel(t, tc.model), nil)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s on %s: %v, want a mention of %q", tc.task, tc.model, err, w)
			}
		}
	}
	if _, err := ParseTask("image-segmentation"); err == nil || !strings.Contains(err.Error(), "fill-mask") {
		t.Errorf("unknown task: %v", err)
	}
	if _, err := Load(ctx, FillMaskTask, "./no/such/model", nil); err == nil {
		t.Error("a missing folder loaded")
	}
}

// TestCallJSONBatches: calls with the same options run together, a bad
// call fails alone, and every result equals the call's run on its own.
func TestCallJSONBatches(t *testing.T) {
	p := goldenPipeline(t, "fill-mask", "bert-tiny-mlm")
	calls := []json.RawMessage{
		json.RawMessage(`{"inputs": "the [MASK] sat on the mat."}`),
		json.RawMessage(`{"inputs": "no mask"}`),
		json.RawMessage(`{"inputs": ["[MASK] is blue.", "a [MASK] b [MASK]"], "options": {"top_k": 2}}`),
		json.RawMessage(`{"inputs": "paris is the [MASK] of france."}`),
	}
	res := p.CallJSON(context.Background(), calls...)
	if res[1].Err == nil {
		t.Fatal("the call without a mask succeeded")
	}
	for i, c := range calls {
		if i == 1 {
			continue
		}
		alone := p.CallJSON(context.Background(), c)[0]
		if res[i].Err != nil || alone.Err != nil {
			t.Fatalf("call %d: %v, alone %v", i, res[i].Err, alone.Err)
		}
		a, _ := json.Marshal(res[i].Value)
		b, _ := json.Marshal(alone.Value)
		if string(a) != string(b) {
			t.Errorf("call %d batched:\n%s\nalone:\n%s", i, a, b)
		}
	}
	// A list of inputs gives a list: the first input's one mask a list of
	// predictions, the second's two masks a list of two lists.
	var shape []json.RawMessage
	raw, _ := json.Marshal(res[2].Value)
	var oneMask []FillMaskResult
	var twoMasks [][]FillMaskResult
	if json.Unmarshal(raw, &shape) != nil || len(shape) != 2 || json.Unmarshal(shape[0], &oneMask) != nil ||
		json.Unmarshal(shape[1], &twoMasks) != nil || len(twoMasks) != 2 || len(oneMask) != 2 {
		t.Errorf("shape of a list call: %s", raw)
	}
}

// TestBatchInvariance: a batch padded to its longest text gives each text
// what it gives alone (padding is masked).
func TestBatchInvariance(t *testing.T) {
	texts := []string{"My name is Wolfgang and I live in Berlin.", "Paris", "Apple Inc. was founded by Steve Jobs, Steve Wozniak and Ronald Wayne in April 1976 in Los Altos."}
	batched := goldenPipeline(t, "token-classification", "bert-tiny-ner").(*TokenClassification)
	one, err := LoadTokenClassification(context.Background(), goldenModel(t, "bert-tiny-ner"), &Options{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	opts := &TokenClassificationOptions{AggregationStrategy: AggregateAverage, IgnoreLabels: []string{}}
	a, err := batched.Run(context.Background(), texts, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := one.Run(context.Background(), texts, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := compareJSON(asJSON(t, a), asJSON(t, b), "batch", 1e-5, 0); d != "" {
		t.Error(d)
	}
}

// TestConcurrentCalls: one pipeline serves goroutines at once, each with
// the results of a call alone.
func TestConcurrentCalls(t *testing.T) {
	p := goldenPipeline(t, "question-answering", "bert-tiny-qa")
	call := json.RawMessage(`{"question": "Where does Wolfgang live?", "context": "My name is Wolfgang and I live in Berlin.", "top_k": 3}`)
	want, _ := json.Marshal(p.CallJSON(context.Background(), call)[0].Value)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				r := p.CallJSON(context.Background(), call)[0]
				got, _ := json.Marshal(r.Value)
				if r.Err != nil || string(got) != string(want) {
					errs <- fmt.Sprintf("%s %v", got, r.Err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent call: %s, want %s", e, want)
	}
}

// TestQuestionAnsweringPython checks what Python's pipeline adds to the
// span scores on a context longer than one window: answers are the
// context's own text at their character offsets, widened to whole words,
// no longer than max_answer_len tokens, without duplicates; the empty
// answer joins with handle_impossible_answer; doc_stride 0 runs windows
// without overlap.
func TestQuestionAnsweringPython(t *testing.T) {
	p := goldenPipeline(t, "question-answering", "bert-tiny-qa").(*QuestionAnswering)
	context0 := strings.Repeat("Zürich's café serves crème brûlée; the Müllers (José and Ana) eat it daily. ", 12)
	in := []QAInput{{Question: "What does the café serve?", Context: context0}}
	opts := &QAOptions{TopK: 5, MaxSeqLen: 64, DocStride: 16}
	st, _ := p.settings(opts)
	feats, _, err := p.features(in, st)
	if err != nil || len(feats) < 3 {
		t.Fatalf("%d windows, %v", len(feats), err)
	}
	out, err := p.Run(context.Background(), in, opts)
	if err != nil {
		t.Fatal(err)
	}
	runes := []rune(context0)
	seen := map[string]bool{}
	for i, a := range out[0] {
		if string(runes[a.Start:a.End]) != a.Answer || a.Answer == "" {
			t.Errorf("answer %d %+v is not context[%d:%d] = %q", i, a, a.Start, a.End, string(runes[a.Start:a.End]))
		}
		letter := func(i int) bool { return i >= 0 && i < len(runes) && unicode.IsLetter(runes[i]) }
		if letter(a.Start-1) && letter(a.Start) || letter(a.End-1) && letter(a.End) {
			t.Errorf("answer %d %q cuts a word", i, a.Answer)
		}
		if i > 0 && a.Score > out[0][i-1].Score {
			t.Errorf("answer %d scores %g after %g", i, a.Score, out[0][i-1].Score)
		}
		if seen[strings.ToLower(a.Answer)] {
			t.Errorf("answer %q twice", a.Answer)
		}
		seen[strings.ToLower(a.Answer)] = true
	}
	// handle_impossible_answer: the empty answer among the candidates.
	r := p.CallJSON(context.Background(), json.RawMessage(`{"question": "What?", "context": "`+context0+`", "top_k": 5000, "max_seq_len": 64, "handle_impossible_answer": true}`))[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	var empty bool
	for _, a := range r.Value.([]Answer) {
		if a.Answer == "" && a.Start == 0 && a.End == 0 && a.Score > 0 {
			empty = true
		}
	}
	if !empty {
		t.Errorf("no empty answer with handle_impossible_answer: %v", short(r.Value))
	}
	// max_answer_len 1: single-token answers, whole words.
	out, err = p.Run(context.Background(), in, &QAOptions{TopK: 3, MaxAnswerLen: 1, AlignToWords: new(bool)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out[0] {
		if strings.ContainsAny(a.Answer, " ") {
			t.Errorf("max_answer_len 1 gave %q", a.Answer)
		}
	}
	// doc_stride 0: windows that share nothing.
	r = p.CallJSON(context.Background(), json.RawMessage(`{"question": "What?", "context": "`+context0+`", "max_seq_len": 64, "doc_stride": 0}`))[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if _, ok := r.Value.(Answer); !ok {
		t.Errorf("one input, top_k 1: %T, want one Answer", r.Value)
	}
}

// TestTokenAggregation checks the word-level strategies on accented text:
// entities cover whole words at their character offsets, the word being
// the tokens joined ("##" glued); first, average and max agree on words
// of one token.
func TestTokenAggregation(t *testing.T) {
	p := goldenPipeline(t, "token-classification", "bert-tiny-ner").(*TokenClassification)
	text := "José Müller vient de Zürich et habite à Montréal; Pneumonoultramicroscopicsilicovolcanoconiosis!"
	runes := []rune(text)
	all := []string{}
	tokens, err := p.Run(context.Background(), []string{text}, &TokenClassificationOptions{IgnoreLabels: all})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tokens[0] {
		ref := strings.ToLower(stripAccents(string(runes[e.Start:e.End])))
		if strings.TrimPrefix(e.Word, "##") != ref {
			t.Errorf("token %d %q covers %q", e.Index, e.Word, string(runes[e.Start:e.End]))
		}
	}
	byStrategy := map[Aggregation][]Entity{}
	for _, a := range []Aggregation{AggregateFirst, AggregateAverage, AggregateMax} {
		out, err := p.Run(context.Background(), []string{text}, &TokenClassificationOptions{AggregationStrategy: a, IgnoreLabels: all})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out[0] {
			if strings.HasPrefix(e.Word, "##") || strings.Contains(e.Word, " ##") {
				t.Errorf("%v: group %q starts inside a word", a, e.Word)
			}
			letter := func(i int) bool { return i >= 0 && i < len(runes) && unicode.IsLetter(runes[i]) }
			if letter(e.Start-1) && letter(e.Start) || letter(e.End-1) && letter(e.End) {
				t.Errorf("%v: group %q at [%d, %d) cuts a word", a, e.Word, e.Start, e.End)
			}
		}
		byStrategy[a] = out[0]
	}
	if reflect.DeepEqual(byStrategy[AggregateFirst], byStrategy[AggregateMax]) && reflect.DeepEqual(byStrategy[AggregateFirst], byStrategy[AggregateAverage]) {
		t.Log("first, average and max agree on every word of this text")
	}
	// A long text in windows sharing 16 tokens: entities in text order,
	// none overlapping.
	long := strings.Repeat(text+" ", 8)
	out, err := p.Run(context.Background(), []string{long}, &TokenClassificationOptions{AggregationStrategy: AggregateSimple, Stride: 16})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(out[0]); i++ {
		if out[0][i].Start < out[0][i-1].End {
			t.Errorf("entities %+v and %+v overlap", out[0][i-1], out[0][i])
		}
	}
	if last := out[0][len(out[0])-1]; last.End < len([]rune(long))-200 {
		t.Errorf("the windows stop at %d of %d characters", last.End, len([]rune(long)))
	}
}

// stripAccents drops combining marks after a canonical decomposition of
// the few accented letters the tests use.
func stripAccents(s string) string {
	r := strings.NewReplacer("é", "e", "ü", "u", "à", "a", "è", "e", "û", "u", "É", "E", "Ü", "U")
	return r.Replace(s)
}

// FuzzCallJSON feeds arbitrary calls to every pipeline: errors are fine,
// panics are not.
func FuzzCallJSON(f *testing.F) {
	for _, s := range []string{`{"inputs": "a [MASK]"}`, `{"question": "q", "context": "c", "top_k": 3}`,
		`{"inputs": "x", "candidate_labels": "a,b", "multi_label": true}`, `{"inputs": ["a", "b"], "pooling": "mean"}`,
		`{"inputs": "x", "aggregation_strategy": "max", "stride": 3}`, `{"inputs": {"text": "a", "text_pair": ""}}`, `[]`, `{}`} {
		f.Add(s)
	}
	models := map[string]string{"fill-mask": "bert-tiny-mlm", "question-answering": "bert-tiny-qa", "zero-shot-classification": "bert-tiny-nli",
		"feature-extraction": "bert-tiny-embed", "token-classification": "bert-tiny-ner", "text-classification": "bert-tiny-nli"}
	var ps []Pipeline
	for task, m := range models {
		tk, _ := ParseTask(task)
		p, err := Load(context.Background(), tk, testenv.Shared(f, "golden", "hf_pipelines", "models", m), nil)
		if err != nil {
			f.Fatal(err)
		}
		ps = append(ps, p)
	}
	f.Fuzz(func(t *testing.T, call string) {
		for _, p := range ps {
			p.CallJSON(context.Background(), json.RawMessage(call))
		}
	})
}

// TestBF16: Options.Format infer.BF16 stores the weights in bfloat16; the
// pipeline's answers move by bfloat16 rounding only (the golden cases'
// margins are far larger for this model's best span).
func TestBF16(t *testing.T) {
	ctx := context.Background()
	in := []QAInput{{Question: "Where does Wolfgang live?", Context: "My name is Wolfgang and I live in Berlin."}}
	f32 := goldenPipeline(t, "question-answering", "bert-tiny-qa").(*QuestionAnswering)
	bf16, err := LoadQuestionAnswering(ctx, goldenModel(t, "bert-tiny-qa"), &Options{Format: infer.BF16})
	if err != nil {
		t.Fatal(err)
	}
	a, err := f32.Run(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bf16.Run(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a[0][0].Answer != b[0][0].Answer || math.Abs(a[0][0].Score-b[0][0].Score) > 0.05*a[0][0].Score {
		t.Errorf("bfloat16 %+v, float32 %+v", b[0][0], a[0][0])
	}
}
