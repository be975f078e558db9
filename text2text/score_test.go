package text2text

import (
	"math"
	"strings"
	"testing"
)

func TestLead(t *testing.T) {
	text := "#Person1#: Hello, Mr. Smith. How are you?\n#Person2#: Fine! Thanks."
	if got := Lead(text, 2); got != "#Person1#: Hello, Mr. Smith.\nHow are you?" {
		t.Errorf("Lead 2 = %q", got)
	}
	if got := Lead(text, 10); strings.Count(got, "\n") != 3 {
		t.Errorf("Lead 10 = %q", got)
	}
	if Lead(text, 0) != "" || LeadWords("a  b c", 2) != "a b" || LeadWords("a", 5) != "a" {
		t.Error("Lead 0 or LeadWords")
	}
}

func TestScore(t *testing.T) {
	ex := []Example{{Refs: []string{"The cat sat on the mat."}}, {Refs: []string{"A dog barks. It is loud.", "The dog barks."}}}
	r, err := Score(Translation, []string{"The cat sat on the mat.", "The dog barks."}, ex, nil)
	if err != nil || math.Abs(r.BLEU.Score-100) > 1e-9 || !strings.Contains(r.String(), "signature: nrefs:var|") {
		t.Errorf("translation: %v %v", r, err)
	}
	r, err = Score(Summarization, []string{"The cat sat.", "A dog barks. It is loud."}, ex, nil)
	if err != nil || r.ROUGE == nil || math.Abs(r.ROUGE.RLsum.F-(2.0/3+1)/2) > 1e-12 || r.Examples != 2 {
		t.Errorf("summarization: %v %v", r, err)
	}
	// Sentences go on their own lines for ROUGE-Lsum unless KeepLines.
	keep, _ := Score(Summarization, []string{"x", "It is loud. A dog barks."}, ex[:2], &ScoreOptions{KeepLines: true})
	split, _ := Score(Summarization, []string{"x", "It is loud. A dog barks."}, ex[:2], nil)
	if keep.ROUGE.RLsum.F >= split.ROUGE.RLsum.F || keep.ROUGE.RL != split.ROUGE.RL {
		t.Errorf("Lsum kept lines %v, split %v", keep.ROUGE, split.ROUGE)
	}
	if _, err := Score(Translation, []string{"x"}, ex, nil); err == nil {
		t.Error("mismatched lengths: no error")
	}
	if _, err := ParseTask("qa"); err == nil {
		t.Error("ParseTask: no error")
	}
}
