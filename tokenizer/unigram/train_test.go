package unigram

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// multi30kLines returns the first n lines of the Multi30k training data of
// each language (English, German).
func multi30kLines(t testing.TB, n int) []string {
	t.Helper()
	var lines []string
	for _, lang := range []string{"en", "de"} {
		f, err := os.Open(testenv.Shared(t, "data", "multi30k", "train."+lang+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		for k := 0; k < n && sc.Scan(); k++ {
			lines = append(lines, sc.Text())
		}
		f.Close()
	}
	return lines
}

func trainOn(t testing.TB, lines []string, opt TrainOptions) *Model {
	t.Helper()
	m, err := Train(context.Background(), strings.NewReader(strings.Join(lines, "\n")), opt)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func modelBytes(t testing.TB, m *Model) []byte {
	var buf bytes.Buffer
	if err := m.WriteModel(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTrain(t *testing.T) {
	lines := multi30kLines(t, 1500)
	train, held := lines[:len(lines)-200], lines[len(lines)-200:]
	m := trainOn(t, train, TrainOptions{VocabSize: 1000})
	if m.VocabSize() != 1000 {
		t.Fatalf("VocabSize %d, want 1000", m.VocabSize())
	}
	if m.UnknownID() != 0 || m.BOS() != 1 || m.EOS() != 2 {
		t.Errorf("unk %d bos %d eos %d", m.UnknownID(), m.BOS(), m.EOS())
	}
	// Every character of the corpus is a piece; frequent words are one.
	for _, l := range train {
		for _, r := range m.Normalize(l) {
			if _, ok := m.TokenToID(string(r)); !ok {
				t.Fatalf("character %q of %q is not a piece", r, l)
			}
		}
	}
	for _, w := range []string{"▁a", "▁A", "▁in", "▁man", "▁Ein", "▁Mann", "▁the"} {
		if _, ok := m.TokenToID(w); !ok {
			t.Errorf("no piece %q", w)
		}
	}
	// Held-out text round-trips (up to runs of spaces) and is not cut into
	// characters.
	words, pieces := 0, 0
	for _, l := range held {
		ids := m.Encode(l)
		if s, err := m.Decode(ids, false); err != nil || s != strings.Join(strings.Fields(l), " ") {
			t.Errorf("Decode(Encode(%q)) = %q, %v", l, s, err)
		}
		words += len(strings.Fields(l))
		pieces += len(ids)
	}
	if r := float64(pieces) / float64(words); r > 2.5 {
		t.Errorf("%.2f pieces per word on held-out text", r)
	}
	// Scores are log probabilities in decreasing order after the specials.
	for id := 4; id < m.VocabSize(); id++ {
		if m.Score(id) > m.Score(id-1) || m.Score(id) >= 0 {
			t.Fatalf("score of %d (%q) = %v after %v", id, m.pieces[id], m.Score(id), m.Score(id-1))
		}
	}
	// The written files load back, and the tokenizer.json encodes alike.
	m2 := mustParse(t, modelBytes(t, m))
	var js bytes.Buffer
	if err := m.WriteTokenizerJSON(&js); err != nil {
		t.Fatal(err)
	}
	hf, err := FromTokenizerJSON(js.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range held {
		if !slices.Equal(m2.Encode(l), m.Encode(l)) || !slices.Equal(hf.Encode(l), m.Encode(l)) {
			t.Errorf("%q: reloaded %v, tokenizer.json %v, trained %v", l, m2.Encode(l), hf.Encode(l), m.Encode(l))
		}
	}
}

// TestTrainDeterministic: the same corpus gives the same model, whatever
// the number of threads.
func TestTrainDeterministic(t *testing.T) {
	lines := multi30kLines(t, 300)
	a := modelBytes(t, trainOn(t, lines, TrainOptions{VocabSize: 400}))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b := modelBytes(t, trainOn(t, lines, TrainOptions{VocabSize: 400}))
	if !bytes.Equal(a, b) {
		t.Fatal("two trainings differ")
	}
}

func TestTrainOptions(t *testing.T) {
	lines := multi30kLines(t, 200)
	m := trainOn(t, lines, TrainOptions{VocabSize: 700, SpecialTokens: []string{"<pad>", "</s>", "<unk>"},
		UserDefined: []string{"<sep>"}, ByteFallback: true, Normalization: Identity, SplitDigits: true})
	if m.VocabSize() != 700 || m.PAD() != 0 || m.EOS() != 1 || m.UnknownID() != 2 || m.BOS() != -1 {
		t.Errorf("size %d pad %d eos %d unk %d bos %d", m.VocabSize(), m.PAD(), m.EOS(), m.UnknownID(), m.BOS())
	}
	if id, _ := m.TokenToID("<sep>"); m.Type(id) != UserDefined || id != 3 {
		t.Errorf("<sep>: id %d type %v", id, m.Type(id))
	}
	if id, _ := m.TokenToID("<0x00>"); m.Type(id) != Byte || id != 4 {
		t.Errorf("<0x00>: id %d type %v", id, m.Type(id))
	}
	for id := range m.VocabSize() {
		if p := m.pieces[id]; m.types[id] == Normal && utf8.RuneCountInString(p) > 1 && strings.ContainsAny(p, "0123456789") {
			t.Errorf("piece %q has a digit despite SplitDigits", p)
		}
	}
	// Byte fallback: unseen characters round-trip.
	for _, s := range []string{"日本 <sep> 42 ﬁ", "A dog runs."} {
		if got, _ := m.Decode(m.Encode(s), false); got != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
	}
	for _, opt := range []TrainOptions{{}, {VocabSize: 10}, {VocabSize: 100, ShrinkingFactor: 1}, {VocabSize: 100, SpecialTokens: []string{"a", "a"}},
		{VocabSize: 100000}, {VocabSize: 100, Normalization: 7}} {
		if opt.Normalization == 0 {
			opt.Normalization = Identity
		}
		if _, err := Train(context.Background(), strings.NewReader(strings.Join(lines, "\n")), opt); err == nil || !strings.HasPrefix(err.Error(), "unigram: train: ") {
			t.Errorf("%+v: err = %v", opt, err)
		}
	}
	if _, err := Train(context.Background(), strings.NewReader("\n\n"), TrainOptions{VocabSize: 10, Normalization: Identity}); err == nil {
		t.Error("empty corpus: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, strings.NewReader(strings.Join(lines, "\n")), TrainOptions{VocabSize: 500, Normalization: Identity}); err == nil {
		t.Error("cancelled: no error")
	}
}

// TestTrainLikeSentencePiece trains on all of Multi30k (en + de) with the
// options of the shared multi30k model: the vocabulary mostly agrees with
// sentencepiece's, and it cuts the golden test sentences as finely.
func TestTrainLikeSentencePiece(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on 58,000 sentences")
	}
	m := trainOn(t, multi30kLines(t, 29000), TrainOptions{VocabSize: 8000})
	spm := loadMulti30k(t)
	common := 0
	for _, p := range m.pieces {
		if _, ok := spm.ids[p]; ok {
			common++
		}
	}
	words, ours, theirs := 0, 0, 0
	for _, c := range readGolden(t) {
		if strings.HasPrefix(c.Source, "multi30k") {
			words += len(strings.Fields(c.Text))
			ours += len(m.Encode(c.Text))
			theirs += len(c.IDs)
		}
	}
	t.Logf("%d of 8000 pieces in sentencepiece's vocabulary; %.3f pieces per word (sentencepiece %.3f)",
		common, float64(ours)/float64(words), float64(theirs)/float64(words))
	if common < 6000 || float64(ours) > 1.05*float64(theirs) {
		t.Errorf("vocabulary overlap %d, %d pieces against sentencepiece's %d", common, ours, theirs)
	}
}
