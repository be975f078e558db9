package metrics

import (
	"math"
	"slices"
	"testing"
)

// The cases of this file are rouge-score's own (google-research/rouge:
// rouge_scorer_test.py, tokenize_test.py), with their expected values;
// those against ROUGE-1.5.5 use its testdata lines, random strings
// written for the purpose, and its five-decimal tolerance.

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func checkScore(t *testing.T, name string, got Score, p, r, f, tol float64) {
	t.Helper()
	if !near(got.Precision, p, tol) || !near(got.Recall, r, tol) || !near(got.F, f, tol) {
		t.Errorf("%s: P %.5f R %.5f F %.5f, want %.5f %.5f %.5f", name, got.Precision, got.Recall, got.F, p, r, f)
	}
}

func TestRougeScorerCases(t *testing.T) {
	// rouge-score's score(target, prediction): Rouge(prediction, target).
	s := Rouge("testing", "testing one two", nil)
	checkScore(t, "rouge1", s.R1, 1, 1.0/3, 0.5, 1e-7)
	s = Rouge("testing one", "testing one two", nil)
	checkScore(t, "rouge2", s.R2, 1, 0.5, 2.0/3, 1e-7)
	checkScore(t, "rougeL consecutive", s.RL, 1, 2.0/3, 0.8, 1e-7)
	checkScore(t, "rouge1 (multiple types)", s.R1, 1, 2.0/3, 0.8, 1e-7)
	s = Rouge("testing two", "testing one two", nil)
	checkScore(t, "rougeL non-consecutive", s.RL, 1, 2.0/3, 0.8, 1e-7)
	empty := Rouge("", "testing one two", nil)
	for _, sc := range []Score{empty.R1, empty.R2, empty.RL, empty.RLsum} {
		checkScore(t, "empty prediction", sc, 0, 0, 0, 0)
	}
	// testRougeLsum: two prediction lines against one target line.
	s = Rouge("w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5", "w1 w2 w3 w4 w5", nil)
	checkScore(t, "rougeLsum", s.RLsum, 0.4, 0.8, 0.5333, 1e-3)
	for _, c := range [][2]string{{"", "w1 w2 w3 w4 w5"}, {"w1", ""}, {"/", "w1 w2 w3 w4 w5"}} {
		checkScore(t, "rougeLsum empty "+c[0], Rouge(c[0], c[1], nil).RLsum, 0, 0, 0, 1e-3)
	}
}

func TestLCSHelpers(t *testing.T) {
	str := func(xs ...int) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = string(rune('0' + x))
		}
		return out
	}
	ref := str(1, 2, 3, 4, 5)
	if got := lcsIndices(ref, str(2, 5, 3, 4)); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("lcsIndices = %v, want [1 2 3]", got)
	}
	if got := lcsIndices(ref, str(8, 9)); len(got) != 0 {
		t.Errorf("no common subsequence: %v", got)
	}
	// testSummaryLevelLcs: union LCS [1 2] ∪ [1 3 5] = 4 of 5 reference
	// tokens, of 10 candidate tokens.
	s := summaryLCS([][]string{str(1, 2, 6, 7, 8), str(1, 3, 8, 9, 5)}, [][]string{ref})
	if s.Recall != 0.8 || s.Precision != 0.4 || !near(s.F, 0.5333, 1e-3) {
		t.Errorf("summary-level LCS %+v", s)
	}
	if s := summaryLCS([][]string{{}}, [][]string{{"reference"}}); s.Recall != 0 {
		t.Errorf("empty candidate: %+v", s)
	}
}

func TestTokenizeROUGE(t *testing.T) {
	for in, want := range map[string][]string{
		"one Two three":     {"one", "two", "three"},
		"one\n Two \nthree": {"one", "two", "three"},
		"It's 3.5%, ok?":    {"it", "s", "3", "5", "ok"},
		"naïve İstanbul":    {"na", "ve", "i", "stanbul"}, // Python's lower: İ → i + U+0307
	} {
		if got := TokenizeROUGE(in, false); !slices.Equal(got, want) {
			t.Errorf("TokenizeROUGE(%q) = %q, want %q", in, got, want)
		}
	}
	if got := TokenizeROUGE("The runners were running", true); !slices.Equal(got, []string{"the", "runner", "were", "run"}) {
		t.Errorf("stemmed: %q", got)
	}
}

// rouge-score's testdata (target.txt, prediction.txt and
// pyrouge_files/{target,prediction}_multi.0.txt): random strings, with the
// scores ROUGE-1.5.5 gave them.
var (
	rougeTargets = []string{
		"ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L",
		"KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN",
	}
	rougePredictions = []string{
		"rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi",
		"n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD",
	}
	rougeTargetMulti = rougeTargets[0] + "\n" + rougeTargets[1] + "\n" +
		"NhETebUbBk'er WOvoHMTjSRizKgH'vHiing Xu,hWxfs VkNE QhgKiLHE -HidivzoM.dO anhtion jbLQiSGDTCsuhREebUaKM dv J dVN tmbOT\n" +
		"vMR HDm,xOAetion D,tion HJtodT.mHl UIv-p VjWH'BdyWjnfGU-OjT aEMdFICyLWfQMtion wEMfdOKing AwkeKbO 'DxqNOHBH qKtVvm OYJl mM\n"
	rougePredictionMulti = rougePredictions[0] + "\n" + rougePredictions[1] + "\n" +
		"xfs VkJE QhgKiLHE -HidivzoM.dO anhing jbLQiSGDTCsuhREebUaKM dv J\n" +
		"VjWH'BdyWjnfGU-OjTNaEMdFICyLWfQMing wEMfdOKijg AwkeKbO 'DxqNO\n"
)

func TestRougeAgainstRouge155(t *testing.T) {
	const tol = 5e-6
	for _, stem := range []bool{false, true} {
		opts := &ROUGEOptions{Stem: stem}
		s0 := Rouge(rougePredictions[0], rougeTargets[0], opts)
		s1 := Rouge(rougePredictions[1], rougeTargets[1], opts)
		checkScore(t, "rouge1[0]", s0.R1, 0.68750, 0.40741, 0.51163, tol)
		checkScore(t, "rouge2[0]", s0.R2, 0.53333, 0.30769, 0.39024, tol)
		checkScore(t, "rouge2[1]", s1.R2, 0.48000, 0.29268, 0.36364, tol)
		if stem {
			checkScore(t, "rouge1[1] stemmed", s1.R1, 0.69231, 0.42857, 0.52941, tol)
		} else {
			checkScore(t, "rouge1[1]", s1.R1, 0.65385, 0.40476, 0.50000, tol)
			checkScore(t, "rougeL[0]", s0.RL, 0.68750, 0.40741, 0.51163, tol)
			checkScore(t, "rougeL[1]", s1.RL, 0.65385, 0.40476, 0.50000, tol)
		}
	}
	s := Rouge(rougePredictionMulti, rougeTargetMulti, &ROUGEOptions{Stem: true})
	checkScore(t, "rougeLsum stemmed", s.RLsum, 0.66667, 0.36538, 0.47205, tol)
}

func TestRougeMultiAndCorpus(t *testing.T) {
	// Per type, the reference with the best F.
	m, err := RougeMulti("testing one", []string{"nothing here", "testing one two", "testing"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkScore(t, "multi rouge1", m.R1, 1, 2.0/3, 0.8, 1e-12) // "testing one two" (0.8) beats "testing" (2/3)
	checkScore(t, "multi rouge2", m.R2, 1, 0.5, 2.0/3, 1e-12)
	if _, err := RougeMulti("x", nil, nil); err == nil {
		t.Error("no reference: no error")
	}
	c, err := CorpusROUGE([]string{"testing", "testing one"}, [][]string{{"testing one two"}, {"testing one two"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkScore(t, "corpus rouge1", c.R1, 1, 0.5, (0.5+0.8)/2, 1e-12)
	if _, err := CorpusROUGE([]string{"x"}, nil, nil); err == nil {
		t.Error("mismatched lengths: no error")
	}
	if got := c.String(); got != "ROUGE-1 65.00 ROUGE-2 33.33 ROUGE-L 65.00 ROUGE-Lsum 65.00" {
		t.Errorf("String = %q", got)
	}
}
