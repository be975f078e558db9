package qa

import (
	"errors"
	"strings"
	"testing"
)

// squadJSON is a small SQuAD v2.0 file: one answerable question (its
// answer after a non-ASCII character, so that byte and character offsets
// differ), one unanswerable.
const squadJSON = `{"version": "v2.0", "data": [{"title": "Café", "paragraphs": [{
  "context": "The café opened in 1901. It closed in 1990.",
  "qas": [
    {"id": "q1", "question": "When did the café open?", "answers": [{"text": "1901", "answer_start": 19}], "is_impossible": false},
    {"id": "q2", "question": "Who owns it?", "answers": [], "is_impossible": true, "plausible_answers": [{"text": "It", "answer_start": 25}]}
  ]}]}]}`

func TestParse(t *testing.T) {
	d, err := Parse(strings.NewReader(squadJSON), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "v2.0" || len(d.Examples) != 2 || !d.HasImpossible() || d.Misaligned != 0 {
		t.Fatalf("parsed %+v", d)
	}
	q1, q2 := d.Examples[0], d.Examples[1]
	if q1.Title != "Café" || q1.Answers[0] != (GoldAnswer{"1901", 19}) || q1.Impossible || len(q2.Answers) != 0 || !q2.Impossible {
		t.Errorf("examples %+v", d.Examples)
	}
	// A shifted answer is kept and counted.
	shifted := strings.Replace(squadJSON, `"answer_start": 19`, `"answer_start": 18`, 1)
	if d, err := Parse(strings.NewReader(shifted), 1<<20); err != nil || d.Misaligned != 1 {
		t.Errorf("shifted answer: %v, misaligned %v", err, d)
	}
	for name, tt := range map[string]struct {
		in, want string
		max      int64
	}{
		"not json":          {`{"data": [`, "unexpected EOF", 1 << 20},
		"no data":           {`{"version": "1.1"}`, `no "data"`, 1 << 20},
		"no questions":      {`{"data": []}`, "no questions", 1 << 20},
		"too large":         {squadJSON, "larger than", 100},
		"answer outside":    {strings.Replace(squadJSON, `"answer_start": 19`, `"answer_start": 41`, 1), "does not fit", 1 << 20},
		"negative start":    {strings.Replace(squadJSON, `"answer_start": 19`, `"answer_start": -1`, 1), "does not fit", 1 << 20},
		"duplicate id":      {strings.Replace(squadJSON, `"id": "q2"`, `"id": "q1"`, 1), "twice", 1 << 20},
		"missing id":        {strings.Replace(squadJSON, `"id": "q2"`, `"id": ""`, 1), "without an id", 1 << 20},
		"empty context":     {strings.Replace(squadJSON, `The café opened in 1901. It closed in 1990.`, ` `, 1), "empty context", 1 << 20},
		"impossible w/ans":  {strings.Replace(squadJSON, `"answers": [], "is_impossible": true`, `"answers": [{"text": "It", "answer_start": 25}], "is_impossible": true`, 1), "unanswerable", 1 << 20},
		"answerable no ans": {strings.Replace(squadJSON, `"answers": [{"text": "1901", "answer_start": 19}], "is_impossible": false`, `"answers": []`, 1), "no answer", 1 << 20},
		"wrong types":       {`{"data": [{"paragraphs": [{"context": 5}]}]}`, "cannot unmarshal", 1 << 20},
	} {
		_, err := Parse(strings.NewReader(tt.in), tt.max)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v, want one with %q wrapping ErrFormat", name, err, tt.want)
		}
	}
	if _, err := ReadFile("testdata/no-such-file.json"); err == nil {
		t.Error("missing file: no error")
	}
}

// FuzzParse checks that no input panics, and that whatever parses has its
// answers inside their contexts.
func FuzzParse(f *testing.F) {
	f.Add(squadJSON)
	f.Add(`{"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "a b", "qas": [{"id": "x", "question": "?", "answers": [{"text": "b", "answer_start": 2}]}]}]}]}`)
	f.Add(`{"data": [{"paragraphs": [{"context": "é", "qas": [{"id": "x", "answers": [{"text": "é", "answer_start": 0}]}]}]}]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(strings.NewReader(s), 1<<16)
		if err != nil {
			return
		}
		for _, e := range d.Examples {
			n := len([]rune(e.Context))
			for _, a := range e.Answers {
				if a.Start < 0 || a.Start+len([]rune(a.Text)) > n {
					t.Fatalf("answer %+v outside a context of %d characters", a, n)
				}
			}
		}
	})
}
