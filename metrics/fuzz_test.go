package metrics

import "testing"

// FuzzTextMetrics runs every metric on arbitrary prediction/reference
// pairs: no panic, scores within [0, 1] (BLEU within [0, 100], up to the
// rounding of exp(mean log p), which sacreBLEU shares: 8 × "0" scores
// 100.00000000000004 in both), and a text scores perfectly against itself
// when it has tokens.
func FuzzTextMetrics(f *testing.F) {
	f.Add("The cat sat on the mat.", "the cat is on the mat")
	f.Add("", "")
	f.Add("a\u00a0b-c", "\xff\xfe 1,000.5")
	f.Add("ΟΔΟΣ İstanbul\nline two", "&amp;lt; x\x1c y")
	f.Fuzz(func(t *testing.T, hyp, ref string) {
		in01 := func(name string, v float64) {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("%s = %v for %q vs %q", name, v, hyp, ref)
			}
		}
		in01("ExactMatch", ExactMatch(hyp, ref))
		in01("TokenF1", TokenF1(hyp, ref))
		for _, stem := range []bool{false, true} {
			r := Rouge(hyp, ref, &ROUGEOptions{Stem: stem})
			for _, s := range []Score{r.R1, r.R2, r.RL, r.RLsum} {
				in01("ROUGE P", s.Precision)
				in01("ROUGE R", s.Recall)
				in01("ROUGE F", s.F)
			}
			if len(TokenizeROUGE(hyp, stem)) > 0 {
				if self := Rouge(hyp, hyp, &ROUGEOptions{Stem: stem}); self.R1.F != 1 || self.RL.F != 1 {
					t.Fatalf("ROUGE of %q against itself: %v", hyp, self)
				}
			}
		}
		for _, lc := range []bool{false, true} {
			b, err := CorpusBLEU([]string{hyp}, [][]string{{ref}}, &BLEUOptions{Lowercase: lc})
			if err == nil && !(b.Score >= 0 && b.Score <= 100+1e-9) {
				t.Fatalf("BLEU = %v for %q vs %q", b.Score, hyp, ref)
			}
		}
		if hyp != "" && len(Tokenize13a(pyRStrip(hyp))) > 0 {
			b, err := SentenceBLEU(hyp, []string{hyp}, &BLEUOptions{EffectiveOrder: true})
			if err != nil || !near(b.Score, 100, 1e-9) {
				t.Fatalf("BLEU of %q against itself: %v %v", hyp, b, err)
			}
		}
	})
}
