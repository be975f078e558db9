package data

import (
	"math"
	"reflect"
	"testing"
)

const (
	tPAD, tCLS, tSEP, tMASK = 0, 1, 2, 3
	tVocab                  = 1000
	tContFrom               = 900 // ids ≥ 900 are "##" continuations
)

// synthDocs makes nDocs documents of 8–24 sentences of 4–19 ids; ids encode
// (doc, sentence) so tests can trace where a token came from.
func synthDocs(nDocs int, seed uint64) [][][]int32 {
	rng := NewRand(seed)
	docs := make([][][]int32, nDocs)
	for d := range docs {
		for range 8 + rng.IntN(17) {
			s := make([]int32, 4+rng.IntN(16))
			for i := range s {
				s[i] = int32(10 + rng.IntN(tVocab-10))
			}
			s[0] = int32(10 + rng.IntN(tContFrom-10)) // sentences start a word
			docs[d] = append(docs[d], s)
		}
	}
	return docs
}

func testSpecial() []bool {
	sp := make([]bool, tVocab)
	sp[tPAD], sp[tCLS], sp[tSEP], sp[tMASK] = true, true, true, true
	return sp
}

func testCont() []bool {
	c := make([]bool, tVocab)
	for i := tContFrom; i < tVocab; i++ {
		c[i] = true
	}
	return c
}

func TestCreateNSPInstances(t *testing.T) {
	docs := synthDocs(300, 1)
	opts := NSPOptions{MaxSeqLen: 64, DupeFactor: 4, CLS: tCLS, SEP: tSEP}
	ex, err := CreateNSPInstances(docs, opts, 7)
	if err != nil {
		t.Fatal(err)
	}
	notNext, short := 0, 0
	for _, e := range ex {
		n := len(e.InputIDs)
		if n > opts.MaxSeqLen || e.InputIDs[0] != tCLS || e.InputIDs[n-1] != tSEP || len(e.TokenTypeIDs) != n {
			t.Fatalf("bad layout %v", e)
		}
		seps := 0
		for i, id := range e.InputIDs {
			if id == tSEP {
				seps++
				if seps == 1 && (i < 2 || i > n-3) {
					t.Fatalf("segment A or B empty: %v", e.InputIDs)
				}
			}
			wantType := int32(0)
			if seps == 2 || seps == 1 && id != tSEP {
				wantType = 1
			}
			if e.TokenTypeIDs[i] != wantType {
				t.Fatalf("token types %v for %v", e.TokenTypeIDs, e.InputIDs)
			}
		}
		if seps != 2 {
			t.Fatalf("%d [SEP]s in %v", seps, e.InputIDs)
		}
		if e.NextSentence == NotNext {
			notNext++
		}
		if n < opts.MaxSeqLen/2 {
			short++
		}
	}
	p := float64(notNext) / float64(len(ex))
	se := math.Sqrt(0.25 / float64(len(ex)))
	t.Logf("%d examples, NotNext %.4f (±%.4f), short %d", len(ex), p, se, short)
	if math.Abs(p-0.5) > 4*se || len(ex) < 2000 {
		t.Errorf("NotNext fraction %.4f over %d examples, want 0.5 ± %.4f", p, len(ex), 4*se)
	}
	again, _ := CreateNSPInstances(docs, opts, 7)
	if !reflect.DeepEqual(ex, again) {
		t.Error("same seed, different examples")
	}
	if _, err := CreateNSPInstances(docs[:1], opts, 7); err == nil {
		t.Error("one document: no error")
	}
	if _, err := CreateNSPInstances(docs, NSPOptions{MaxSeqLen: 4}, 7); err == nil {
		t.Error("MaxSeqLen 4: no error")
	}
}

func TestTruncatePair(t *testing.T) {
	rng := NewRand(1)
	a, b := truncatePair(make([]int32, 50), make([]int32, 10), 30, rng)
	if len(a) != 20 || len(b) != 10 {
		t.Errorf("truncate 50+10 to 30: %d+%d, want 20+10 (longer side trimmed)", len(a), len(b))
	}
	a, b = truncatePair(make([]int32, 20), make([]int32, 20), 30, rng)
	if len(a)+len(b) != 30 || len(a) < 14 || len(b) < 14 {
		t.Errorf("truncate 20+20 to 30: %d+%d", len(a), len(b))
	}
}

func maskStats(t *testing.T, wholeWord bool) {
	m, err := NewMasker(MaskOptions{MaskID: tMASK, VocabSize: tVocab, Special: testSpecial(), Continuation: testCont(), WholeWord: wholeWord})
	if err != nil {
		t.Fatal(err)
	}
	docs := synthDocs(600, 2)
	seqs, err := PackSentences(docs, 128, tCLS, tSEP)
	if err != nil {
		t.Fatal(err)
	}
	rng := NewRand(3)
	var cand, chosen, masked, random, kept int
	for _, s := range seqs {
		in := make([]int32, len(s.InputIDs))
		lab := make([]int32, len(s.InputIDs))
		c := m.Mask(rng, s.InputIDs, in, lab)
		n := 0
		for i, id := range s.InputIDs {
			if id == tCLS || id == tSEP {
				if lab[i] != IgnoreIndex || in[i] != id {
					t.Fatal("special token chosen")
				}
				continue
			}
			n++
			if lab[i] == IgnoreIndex {
				if in[i] != id {
					t.Fatal("unchosen token changed")
				}
				continue
			}
			if lab[i] != id {
				t.Fatal("label is not the original id")
			}
			chosen++
			switch {
			case in[i] == tMASK:
				masked++
			case in[i] == id:
				kept++
			default:
				random++
				if testSpecial()[in[i]] {
					t.Fatal("random replacement is special")
				}
			}
			if wholeWord {
				// The word of a chosen token is chosen whole.
				lo, hi := i, i+1
				for lo > 0 && s.InputIDs[lo] >= tContFrom {
					lo--
				}
				for hi < len(s.InputIDs) && s.InputIDs[hi] >= tContFrom {
					hi++
				}
				for j := lo; j < hi; j++ {
					if lab[j] == IgnoreIndex {
						t.Fatalf("whole word %v partly chosen: labels %v", s.InputIDs[lo:hi], lab[lo:hi])
					}
				}
			}
		}
		cand += n
		want := int(math.Round(0.15 * float64(n)))
		if c > want || !wholeWord && c != want {
			t.Fatalf("chose %d of %d, want %d", c, n, want)
		}
	}
	if cand < 100000 {
		t.Fatalf("only %d candidate tokens", cand)
	}
	rate := float64(chosen) / float64(cand)
	fm, fr, fk := float64(masked)/float64(chosen), float64(random)/float64(chosen), float64(kept)/float64(chosen)
	seM, se1 := math.Sqrt(0.8*0.2/float64(chosen)), math.Sqrt(0.1*0.9/float64(chosen))
	t.Logf("wwm=%v: %d candidates, rate %.4f, mask %.4f random %.4f kept %.4f", wholeWord, cand, rate, fm, fr, fk)
	lo := 0.149
	if wholeWord {
		lo = 0.14 // words that would overshoot the budget are skipped
	}
	if rate < lo || rate > 0.151 {
		t.Errorf("mask rate %.4f, want 0.15", rate)
	}
	if math.Abs(fm-0.8) > 4*seM || math.Abs(fr-0.1) > 4*se1 || math.Abs(fk-0.1) > 4*se1 {
		t.Errorf("split %.4f/%.4f/%.4f, want 0.8/0.1/0.1 within 4σ", fm, fr, fk)
	}
}

func TestMaskStatistics(t *testing.T) {
	t.Run("token", func(t *testing.T) { maskStats(t, false) })
	t.Run("whole-word", func(t *testing.T) { maskStats(t, true) })
}

func TestMaskDeterminismAndCollate(t *testing.T) {
	m, err := NewMasker(MaskOptions{MaskID: tMASK, VocabSize: tVocab, Special: testSpecial(), MaxPredictions: 3})
	if err != nil {
		t.Fatal(err)
	}
	ex := []PretrainExample{
		{InputIDs: []int32{tCLS, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, tSEP}, TokenTypeIDs: make([]int32, 24), NextSentence: IsNext},
		{InputIDs: []int32{tCLS, 40, tSEP, 41, tSEP}, TokenTypeIDs: []int32{0, 0, 0, 1, 1}, NextSentence: NotNext},
	}
	b1 := m.Collate(NewRand(9), ex, tPAD, 0)
	b2 := m.Collate(NewRand(9), ex, tPAD, 0)
	if !reflect.DeepEqual(b1, b2) {
		t.Error("same seed, different batch")
	}
	if b1.B != 2 || b1.T != 24 || b1.Masked != 3+1 {
		t.Errorf("batch B=%d T=%d masked=%d, want 2, 24, 4 (cap 3 + 1)", b1.B, b1.T, b1.Masked)
	}
	row := b1.T
	for j := 5; j < b1.T; j++ {
		if b1.InputIDs[row+j] != tPAD || b1.AttentionMask[row+j] != 0 || b1.Labels[row+j] != IgnoreIndex {
			t.Fatalf("padding at %d wrong", j)
		}
	}
	if !reflect.DeepEqual(b1.TokenTypeIDs[row:row+5], []int32{0, 0, 0, 1, 1}) || !reflect.DeepEqual(b1.NextSentence, []int32{IsNext, NotNext}) {
		t.Error("types or NSP labels lost")
	}
	if _, err := NewMasker(MaskOptions{MaskID: 5, VocabSize: 5}); err == nil {
		t.Error("mask id outside vocabulary: no error")
	}
	if _, err := NewMasker(MaskOptions{MaskID: 0, VocabSize: 2, Special: []bool{true, true}}); err == nil {
		t.Error("all special: no error")
	}
}

func TestPackSentences(t *testing.T) {
	docs := [][][]int32{{{10, 11}, {12, 13, 14}, {15}}, {{20, 21, 22, 23, 24, 25, 26, 27}}}
	got, err := PackSentences(docs, 7, tCLS, tSEP)
	if err != nil {
		t.Fatal(err)
	}
	var ids [][]int32
	for _, e := range got {
		ids = append(ids, e.InputIDs)
	}
	want := [][]int32{{1, 10, 11, 12, 13, 14, 2}, {1, 15, 2}, {1, 20, 21, 22, 23, 24, 2}, {1, 25, 26, 27, 2}}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("packed %v, want %v", ids, want)
	}
	if _, err := PackSentences(nil, 7, 1, 2); err == nil {
		t.Error("no tokens: no error")
	}
}
