package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// The expected values in this file are sacreBLEU's own: its README, and
// test/test_bleu.py and test/test_sentence_bleu.py of mjpost/sacrebleu
// (2.x), whose tolerance (1e-8, 1e-3 for sentence BLEU) they keep.

// sacreBLEU's README example: three hypotheses, two reference streams,
// here transposed to references per hypothesis.
var (
	readmeHyps = []string{"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."}
	readmeRefs = [][]string{
		{"The dog bit the man.", "The dog had bit the man."},
		{"It was not unexpected.", "No one was surprised."},
		{"The man bit him first.", "The man had bitten the dog."},
	}
)

func TestCorpusBLEUReadme(t *testing.T) {
	b, err := CorpusBLEU(readmeHyps, readmeRefs, nil)
	if err != nil {
		t.Fatal(err)
	}
	const want = "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)"
	if b.String() != want || math.Abs(b.Score-48.530827) > 1e-6 {
		t.Errorf("got  %s (%.8f)\nwant %s (48.530827)", b, b.Score, want)
	}
	if b.Signature != "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x" {
		t.Errorf("signature %q", b.Signature)
	}
}

// The README's "Variable Number of References" example: its printed
// figures (29.44, ref_len 19) are those of the first hypothesis keeping
// only "The dog had bit the man." (one reference), the others two.
func TestCorpusBLEUVariableRefs(t *testing.T) {
	refs := [][]string{{"", "The dog had bit the man."}, readmeRefs[1], readmeRefs[2]}
	b, err := CorpusBLEU(readmeHyps, refs, nil)
	if err != nil {
		t.Fatal(err)
	}
	const want = "BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)"
	if b.String() != want || b.Signature != "nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x" {
		t.Errorf("got  %s %s\nwant %s nrefs:var", b, b.Signature, want)
	}
	// A hypothesis left with no reference is an error, as in sacreBLEU.
	refs[0] = []string{"", ""}
	if _, err := CorpusBLEU(readmeHyps, refs, nil); !errors.Is(err, ErrNoReference) {
		t.Errorf("no reference left: %v, want ErrNoReference", err)
	}
}

func TestCorpusBLEUSuite(t *testing.T) {
	tests := []struct {
		name string
		hyps []string
		refs [][]string
		opts *BLEUOptions
		want float64
	}{
		{"default", readmeHyps, readmeRefs, nil, 48.530827},
		{"empty hypotheses", []string{"", "", ""}, readmeRefs, nil, 0},
		{"tokenize none", readmeHyps, readmeRefs, &BLEUOptions{Tokenize: TokNone}, 49.1919566},
		{"tokenize 13a", readmeHyps, readmeRefs, &BLEUOptions{Tokenize: Tok13a}, 48.530827},
		{"smooth none", readmeHyps, readmeRefs, &BLEUOptions{Smooth: SmoothNone}, 48.530827},
	}
	for _, tt := range tests {
		b, err := CorpusBLEU(tt.hyps, tt.refs, tt.opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if math.Abs(b.Score-tt.want) > 1e-6 {
			t.Errorf("%s: BLEU %.8f, want %.8f", tt.name, b.Score, tt.want)
		}
	}
	// test_max_ngram_order
	for i, want := range []string{"77.65", "60.50", "53.93", "48.53", "46.14", "43.28"} {
		b, err := CorpusBLEU(readmeHyps, readmeRefs, &BLEUOptions{MaxOrder: i + 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%.2f", b.Score); got != want {
			t.Errorf("max order %d: %s, want %s", i+1, got, want)
		}
	}
}

// raw is sacreBLEU's raw_corpus_bleu: no tokenization, floor smoothing,
// effective order.
func raw(floor float64) *BLEUOptions {
	return &BLEUOptions{Tokenize: TokNone, Smooth: SmoothFloor, SmoothValue: floor, EffectiveOrder: true}
}

func TestRawCorpusBLEU(t *testing.T) {
	tests := []struct {
		hyps []string
		refs [][]string
		want float64
	}{
		// test_raw_bleu_cases (#141: no match at all is 0)
		{[]string{"this is a test", "another test"}, [][]string{{"ref1"}, {"ref2"}}, 0},
		{[]string{"this is a test"}, [][]string{{"this is a test"}}, 1},
		{[]string{"this is a fest"}, [][]string{{"this is a test"}}, 0.223606797749979},
		// test_case_effective_order
		{[]string{"test"}, [][]string{{"a test"}}, 0.3678794411714425},
		{[]string{"a test"}, [][]string{{"a test"}}, 1},
		{[]string{"a little test"}, [][]string{{"a test"}}, 0.03218297948685433},
	}
	for _, tt := range tests {
		b, err := CorpusBLEU(tt.hyps, tt.refs, raw(0.01))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(b.Score/100-tt.want) > 1e-8 {
			t.Errorf("%q vs %q: %.15f, want %.15f", tt.hyps, tt.refs, b.Score/100, tt.want)
		}
	}
	// test_statistics and test_offset
	hyp, ref := "am I am a character sequence", "I am a symbol string sequence a a"
	b, _ := SentenceBLEU(hyp, []string{ref}, raw(0.01))
	if !slices.Equal(b.Counts, []int{4, 2, 1, 0}) || !slices.Equal(b.Totals, []int{6, 5, 4, 3}) {
		t.Errorf("statistics %v / %v, want [4 2 1 0] / [6 5 4 3]", b.Counts, b.Totals)
	}
	if b, _ := SentenceBLEU(hyp, []string{ref}, &BLEUOptions{Tokenize: TokNone, Smooth: SmoothNone, EffectiveOrder: true}); b.Score != 0 {
		t.Errorf("offset 0: %v, want 0", b.Score)
	}
	b, _ = SentenceBLEU(hyp, []string{ref}, raw(0)) // floor's default, 0.1
	if math.Abs(b.Score/100-0.1555722182) > 1e-8 {
		t.Errorf("offset 0.1: %.10f, want 0.1555722182", b.Score/100)
	}
}

func TestComputeBLEU(t *testing.T) {
	// test_case_scoring (compute_bleu's default smoothing is none)
	b, err := ComputeBLEU([]int{9, 7, 5, 3}, []int{10, 8, 6, 4}, 11, 11, &BLEUOptions{Smooth: SmoothNone})
	if err != nil || math.Abs(b.Score/100-0.8375922397) > 1e-8 {
		t.Errorf("scoring: %v %v, want 0.8375922397", b.Score/100, err)
	}
	// test_case_degenerate_stats: floor smoothing, exactly 0.
	for _, d := range []struct {
		counts, totals []int
		hyp, ref       int
		floor          float64
	}{
		{[]int{0, 0, 0, 0}, []int{4, 4, 2, 1}, 0, 1, 0},
		{[]int{0, 0, 0, 0}, []int{10, 11, 12, 0}, 14, 10, 0},
		{[]int{0, 0, 0, 0}, []int{0, 0, 0, 0}, 0, 0, 0},
		{[]int{6, 5, 4, 0}, []int{6, 5, 4, 3}, 6, 6, 0},
		{[]int{0, 0, 0, 0}, []int{0, 0, 0, 0}, 0, 0, 0.1},
		{[]int{0, 0, 0, 0}, []int{0, 0, 0, 0}, 1, 5, 0.01},
	} {
		opts := &BLEUOptions{Smooth: SmoothFloor, SmoothValue: d.floor}
		if d.floor == 0 {
			opts.Smooth = SmoothNone // a floor of 0 (the zero value means 0.1 here)
		}
		b, err := ComputeBLEU(d.counts, d.totals, d.hyp, d.ref, opts)
		if err != nil || b.Score != 0 {
			t.Errorf("degenerate %+v: %v %v, want 0", d, b.Score, err)
		}
	}
	if _, err := ComputeBLEU([]int{1}, []int{1, 2}, 1, 1, nil); err == nil {
		t.Error("mismatched counts: no error")
	}
	if _, err := ComputeBLEU([]int{3}, []int{2}, 1, 1, nil); err == nil {
		t.Error("matches above totals: no error")
	}
}

func TestSentenceBLEUSuite(t *testing.T) {
	// test_sentence_bleu.py, from sacreBLEU issue #98.
	const ref = "producţia de zahăr brut se exprimă în zahăr alb;"
	const sys = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;"
	tests := []struct {
		smooth Smoothing
		value  float64
		tok    BLEUTokenizer
		want   float64
	}{
		{SmoothExp, 0, Tok13a, 8.493},
		{SmoothNone, 0, Tok13a, 0},
		{SmoothFloor, 0, Tok13a, 4.51688},
		{SmoothFloor, 0.1, Tok13a, 4.51688},
		{SmoothFloor, 0.5, Tok13a, 10.10},
		{SmoothAddK, 0, Tok13a, 14.882},
		{SmoothAddK, 1, Tok13a, 14.882},
		{SmoothAddK, 2, Tok13a, 21.389},
		{SmoothExp, 0, TokNone, 7.347},
	}
	for _, tt := range tests {
		opts := &BLEUOptions{Smooth: tt.smooth, SmoothValue: tt.value, Tokenize: tt.tok, EffectiveOrder: true}
		b, err := SentenceBLEU(sys, []string{ref}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(b.Score-tt.want) > 1e-3 {
			t.Errorf("%v[%v] tok %v: %.5f, want %v", tt.smooth, tt.value, tt.tok, b.Score, tt.want)
		}
	}
	// #141: nothing in common is 0 whatever the smoothing.
	for _, s := range []Smoothing{SmoothExp, SmoothNone, SmoothFloor, SmoothAddK} {
		b, _ := SentenceBLEU("this is a cat", []string{"okay thanks"}, &BLEUOptions{Smooth: s, EffectiveOrder: true})
		if b.Score != 0 {
			t.Errorf("%v: %v, want 0", s, b.Score)
		}
	}
}

func TestSignature(t *testing.T) {
	tests := []struct {
		opts  *BLEUOptions
		nrefs int
		want  string
	}{
		{nil, 1, "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x"},
		{&BLEUOptions{Lowercase: true, EffectiveOrder: true, Tokenize: TokNone}, -1, "nrefs:var|case:lc|eff:yes|tok:none|smooth:exp|version:2.x"},
		{&BLEUOptions{Smooth: SmoothFloor}, 2, "nrefs:2|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|version:2.x"},
		{&BLEUOptions{Smooth: SmoothAddK}, 1, "nrefs:1|case:mixed|eff:no|tok:13a|smooth:add-k[1.00]|version:2.x"},
	}
	for _, tt := range tests {
		if got := tt.opts.Signature(tt.nrefs); got != tt.want {
			t.Errorf("Signature = %q, want %q", got, tt.want)
		}
	}
}

func TestTokenize13a(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello, world! It costs $3.50 (approx.) in 2-3 days &amp; more.", "Hello , world ! It costs $ 3.50 ( approx . ) in 2 - 3 days & more ."},
		// Entities decode one after the other: &amp;lt; is <.
		{"a &amp;lt; b &amp;quot;", "a < b & quot ;"},
		{"1,000.5 and 1.5. Done,ok", "1,000.5 and 1.5 . Done , ok"},
		{"it's well-known <skipped>here", "it's well-known here"},
		{"line-\nbreak\nnext", "linebreak next"},
		{"x\x1cy", "x y"}, // Python's str.split whitespace
	}
	for _, tt := range tests {
		if got := strings.Join(Tokenize13a(tt.in), " "); got != tt.want {
			t.Errorf("Tokenize13a(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBLEUErrors(t *testing.T) {
	if _, err := CorpusBLEU([]string{"x"}, nil, nil); err == nil {
		t.Error("mismatched lengths: no error")
	}
	if _, err := CorpusBLEU(nil, nil, nil); err == nil {
		t.Error("no hypotheses: no error")
	}
	if _, err := CorpusBLEU([]string{"x"}, [][]string{{""}}, nil); !errors.Is(err, ErrNoReference) {
		t.Errorf("empty reference: %v", err)
	}
	if _, err := CorpusBLEU([]string{"x"}, [][]string{{"x"}}, &BLEUOptions{MaxOrder: -1}); err == nil {
		t.Error("negative order: no error")
	}
	if _, err := CorpusBLEU([]string{"x"}, [][]string{{"x"}}, &BLEUOptions{SmoothValue: math.NaN()}); err == nil {
		t.Error("NaN smoothing: no error")
	}
	if _, err := ParseSmoothing("add-one"); err == nil {
		t.Error("ParseSmoothing: no error")
	}
	if s, err := ParseSmoothing("add-k"); err != nil || s != SmoothAddK {
		t.Errorf("ParseSmoothing(add-k) = %v, %v", s, err)
	}
	if tk, err := ParseBLEUTokenizer("none"); err != nil || tk != TokNone {
		t.Errorf("ParseBLEUTokenizer(none) = %v, %v", tk, err)
	}
}
