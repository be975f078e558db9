package metrics

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestEntities(t *testing.T) {
	strict := func(s TagScheme) *EntityOptions { return &EntityOptions{Mode: EntityStrict, Scheme: s} }
	cases := []struct {
		name string
		tags string
		opts *EntityOptions
		want string // "TYPE start end" entries, end exclusive
	}{
		// seqeval's get_entities docstring: [('PER', 0, 1), ('LOC', 3, 3)] (inclusive ends).
		{"docstring", "B-PER I-PER O B-LOC", nil, "PER 0 2, LOC 3 4"},
		{"I after O starts", "O I-PER I-PER O", nil, "PER 1 3"},
		{"type change splits", "B-PER I-LOC", nil, "PER 0 1, LOC 1 2"},
		{"B after I same type", "I-ORG B-ORG", nil, "ORG 0 1, ORG 1 2"},
		{"end of sentence closes", "B-MISC I-MISC", nil, "MISC 0 2"},
		{"IOBES default", "S-PER S-PER B-LOC E-LOC", nil, "PER 0 1, PER 1 2, LOC 2 4"},
		{"E after O starts", "O E-PER", nil, "PER 1 2"},
		{"bare prefixes", "B I O I", nil, "_ 0 2, _ 3 4"},
		{"hyphenated type", "B-B-X I-B-X", nil, "B-X 0 2"},
		{"empty", "", nil, ""},
		// seqeval README: strict IOB2 drops the entity that starts with I-.
		{"strict IOB2 drops I start", "I-NP I-NP O", strict(IOB2), ""},
		{"strict IOB2", "B-NP I-NP O B-PP", strict(IOB2), "NP 0 2, PP 3 4"},
		{"strict IOB2 type change", "B-PER I-LOC", strict(IOB2), "PER 0 1"},
		{"strict IOB1", "I-PER I-PER B-PER O I-LOC", strict(IOB1), "PER 0 2, PER 2 3, LOC 4 5"},
		{"strict IOB1 B after O is none", "O B-PER O", strict(IOB1), ""},
		{"strict IOBES", "B-PER E-PER S-LOC B-ORG I-ORG", strict(IOBES), "PER 0 2, LOC 2 3"},
		{"strict IOBES unclosed", "B-PER I-PER O", strict(IOBES), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Entities(strings.Fields(c.tags), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, e := range got {
				parts = append(parts, e.Type+" "+strconv.Itoa(e.Start)+" "+strconv.Itoa(e.End))
			}
			if s := strings.Join(parts, ", "); s != c.want {
				t.Errorf("Entities(%q) = %q, want %q", c.tags, s, c.want)
			}
		})
	}
}

func TestEntitiesBadTags(t *testing.T) {
	for _, c := range []struct {
		tags string
		opts *EntityOptions
	}{
		{"PER", nil}, {"B-", nil}, {"BX-PER", nil}, {"o", nil}, {"X-PER", nil},
		{"B-PER E-PER", &EntityOptions{Mode: EntityStrict, Scheme: IOB2}},
		{"S-PER", &EntityOptions{Mode: EntityStrict, Scheme: IOB1}},
	} {
		if _, err := Entities(strings.Fields(c.tags), c.opts); err == nil {
			t.Errorf("Entities(%q) accepted a bad tag", c.tags)
		}
	}
}

// TestEvaluateEntitiesSeqeval checks the examples of seqeval's
// documentation: classification_report and the *_score docstrings
// (MISC 0/0/0 support 1, PER 1/1/1, micro and macro 0.5, accuracy 0.8).
func TestEvaluateEntitiesSeqeval(t *testing.T) {
	refs := [][]string{{"O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"}, {"B-PER", "I-PER", "O"}}
	preds := [][]string{{"O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"}, {"B-PER", "I-PER", "O"}}
	r, err := EvaluateEntities(refs, preds, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []EntityScore{
		{Type: "MISC", Support: 1, Predicted: 1},
		{Type: "PER", Precision: 1, Recall: 1, F1: 1, Support: 1, Predicted: 1, Correct: 1},
	}
	if len(r.Types) != 2 || r.Types[0] != want[0] || r.Types[1] != want[1] {
		t.Errorf("per type = %+v, want %+v", r.Types, want)
	}
	for _, s := range []EntityScore{r.Micro, r.Macro, r.Weighted} {
		if s.Precision != 0.5 || s.Recall != 0.5 || s.F1 != 0.5 || s.Support != 2 {
			t.Errorf("%s = %+v, want 0.5/0.5/0.5 support 2", s.Type, s)
		}
	}
	if r.Accuracy != 0.8 || r.Tokens != 10 || r.Sentences != 2 {
		t.Errorf("accuracy %v over %d tokens, %d sentences; want 0.8, 10, 2", r.Accuracy, r.Tokens, r.Sentences)
	}
	// seqeval's README: the lenient reading finds NP in "I-NP I-NP O", the strict one does not.
	refs, preds = [][]string{{"B-NP", "I-NP", "O"}}, [][]string{{"I-NP", "I-NP", "O"}}
	for _, c := range []struct {
		opts *EntityOptions
		f1   float64
	}{{nil, 1}, {&EntityOptions{Mode: EntityStrict, Scheme: IOB2}, 0}} {
		r, err := EvaluateEntities(refs, preds, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if r.Micro.F1 != c.f1 {
			t.Errorf("%+v: F1 %v, want %v", c.opts, r.Micro.F1, c.f1)
		}
	}
	// A type only predicted counts in the macro average with recall 0 (seqeval's union of types).
	r, err = EvaluateEntities([][]string{{"B-PER", "O"}}, [][]string{{"B-PER", "B-LOC"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Types) != 2 || r.Macro.F1 != 0.5 || r.Micro.Precision != 0.5 || r.Micro.Recall != 1 || r.Weighted.F1 != 1 {
		t.Errorf("union of types: %+v", r)
	}
}

func TestEvaluateEntitiesErrors(t *testing.T) {
	if _, err := EvaluateEntities([][]string{{"O"}}, nil, nil); err == nil {
		t.Error("different sentence counts accepted")
	}
	if _, err := EvaluateEntities([][]string{{"O", "O"}}, [][]string{{"O"}}, nil); err == nil {
		t.Error("different sentence lengths accepted")
	}
	_, err := EvaluateEntities([][]string{{"O"}, {"O", "PER"}}, [][]string{{"O"}, {"O", "O"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "reference sentence 1") || !strings.Contains(err.Error(), "word 1") {
		t.Errorf("bad tag error %v does not name sentence 1, word 1", err)
	}
}

// TestEntitiesConlleval compares the default mode with conlleval's counts
// on 300 random sentences (testdata/conlleval/README.md).
func TestEntitiesConlleval(t *testing.T) {
	f, err := os.Open("testdata/conlleval/input.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var refs, preds [][]string
	var ref, pred []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			refs, preds = append(refs, ref), append(preds, pred)
			ref, pred = nil, nil
			continue
		}
		ref, pred = append(ref, fields[1]), append(pred, fields[2])
	}
	r, err := EvaluateEntities(refs, preds, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/conlleval/counts.txt")
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string]EntityScore{"overall": r.Micro}
	for _, s := range r.Types {
		byType[s.Type] = s
	}
	lines := strings.Split(strings.TrimSpace(string(want)), "\n")
	var tokens, correct int
	if _, err := fmt.Sscanf(lines[0], "tokens %d correcttags %d", &tokens, &correct); err != nil {
		t.Fatal(err)
	}
	if r.Tokens != tokens || math.Abs(r.Accuracy-float64(correct)/float64(tokens)) > 1e-15 {
		t.Errorf("tokens %d accuracy %v, conlleval %d %v", r.Tokens, r.Accuracy, tokens, float64(correct)/float64(tokens))
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		name := f[0]
		if name == "type" {
			name, f = f[1], f[1:]
		}
		s, ok := byType[name]
		if !ok {
			t.Errorf("type %s missing", name)
			continue
		}
		if got := [3]string{strconv.Itoa(s.Support), strconv.Itoa(s.Predicted), strconv.Itoa(s.Correct)}; got != [3]string{f[1], f[2], f[3]} {
			t.Errorf("%s: gold/found/correct %v, conlleval %v", name, got, f[1:4])
		}
	}
	if len(byType) != len(lines)-1 {
		t.Errorf("%d types, conlleval %d", len(byType)-1, len(lines)-2)
	}
}
