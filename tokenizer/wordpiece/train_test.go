package wordpiece_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
)

func TestTrainSmall(t *testing.T) {
	specials := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	for _, tc := range []struct {
		name   string
		corpus string
		opt    wordpiece.TrainOptions
		want   []string
	}{
		{"min frequency 2", "ab AB ab abc\n", wordpiece.TrainOptions{VocabSize: 20},
			append(slices.Clone(specials), "a", "b", "c", "##b", "##c", "ab")},
		{"min frequency 1", "ab ab ab abc\n", wordpiece.TrainOptions{VocabSize: 20, MinFrequency: 1},
			append(slices.Clone(specials), "a", "b", "c", "##b", "##c", "ab", "abc")},
		{"vocab size stops", "ab ab ab abc\n", wordpiece.TrainOptions{VocabSize: 10, MinFrequency: 1},
			append(slices.Clone(specials), "a", "b", "c", "##b", "##c")},
		{"continuation merges", "xab yab zab\n", wordpiece.TrainOptions{VocabSize: 20, SpecialTokens: []string{"<u>"},
			Model: wordpiece.Options{UnkToken: "<u>"}},
			[]string{"<u>", "a", "b", "x", "y", "z", "##a", "##b", "##ab"}},
		{"unk added", "a\n", wordpiece.TrainOptions{VocabSize: 20, SpecialTokens: []string{"[PAD]"}},
			[]string{"[PAD]", "[UNK]", "a"}},
		{"alphabet limit", "aab ac\n", wordpiece.TrainOptions{VocabSize: 20, MinFrequency: 1, LimitAlphabet: 2, SpecialTokens: []string{}},
			[]string{"[UNK]", "a", "b", "##a", "##b", "aa", "aab"}},
		{"punctuation and cjk split", "a,b 你好\n", wordpiece.TrainOptions{VocabSize: 20, SpecialTokens: []string{}},
			[]string{"[UNK]", ",", "a", "b", "你", "好"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := wordpiece.Train(context.Background(), strings.NewReader(tc.corpus), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Vocab(); !slices.Equal(got, tc.want) {
				t.Errorf("vocab %q, want %q", got, tc.want)
			}
		})
	}
	for _, opt := range []wordpiece.TrainOptions{{}, {VocabSize: 10, MinFrequency: -1}, {VocabSize: 10, SpecialTokens: []string{"a", "a"}}} {
		if _, err := wordpiece.Train(context.Background(), strings.NewReader("x"), opt); err == nil {
			t.Errorf("Train(%+v) succeeded", opt)
		}
	}
}

// TestTrainShakespeare learns a 4000-token vocabulary from tiny Shakespeare
// (1.1 MB), saves it, loads it back through tokenizer.json and vocab.txt,
// and checks that the corpus encodes without [UNK].
func TestTrainShakespeare(t *testing.T) {
	path := testenv.Shared(t, "data", "tinyshakespeare", "input.txt")
	var calls int
	start := time.Now()
	m, err := wordpiece.TrainFiles(context.Background(), []string{path}, wordpiece.TrainOptions{
		VocabSize: 4000,
		Progress:  func(wordpiece.TrainProgress) { calls++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trained %d tokens in %v (%d progress calls)", m.VocabSize(), time.Since(start), calls)
	if m.VocabSize() != 4000 || calls == 0 {
		t.Fatalf("vocab size %d, progress calls %d", m.VocabSize(), calls)
	}
	dir := t.TempDir()
	if err := m.SaveDir(dir); err != nil {
		t.Fatal(err)
	}
	corpus, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(corpus[:100000])
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := wordpiece.FromTokenizerJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	fromTxt, err := wordpiece.LoadVocab(filepath.Join(dir, "vocab.txt"), wordpiece.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := m.Tokenize(text)
	for _, tk := range want {
		if tk.Text == "[UNK]" {
			t.Fatalf("training text has an [UNK] at %d: %q", tk.Start, text[tk.Start:tk.End])
		}
	}
	if len(want) > len(text)/3 {
		t.Errorf("%d tokens for %d bytes: the vocabulary compresses too little", len(want), len(text))
	}
	for _, loaded := range []*wordpiece.Model{fromJSON, fromTxt} {
		if got := loaded.Tokenize(text); !slices.Equal(got, want) {
			t.Fatal("reloaded model tokenizes differently")
		}
	}
	tok, err := tokenizer.FromJSON(data, fromJSON)
	if err != nil {
		t.Fatal(err)
	}
	e, err := tok.Encode("First Citizen:")
	if err != nil {
		t.Fatal(err)
	}
	if e.Tokens[0] != "[CLS]" || e.Tokens[len(e.Tokens)-1] != "[SEP]" {
		t.Errorf("saved template not applied: %q", e.Tokens)
	}
}

func TestTrainCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := wordpiece.Train(ctx, strings.NewReader(strings.Repeat("abcdefgh ijklmnop\n", 5000)), wordpiece.TrainOptions{VocabSize: 1000})
	if err == nil {
		t.Error("cancelled training succeeded")
	}
}

func ExampleTrain() {
	corpus := strings.NewReader("low lower lowest\nnew newer newest\nwide wider widest\n")
	m, err := wordpiece.Train(context.Background(), corpus, wordpiece.TrainOptions{VocabSize: 40, MinFrequency: 2})
	if err != nil {
		panic(err)
	}
	for _, t := range m.Tokenize("Newest lowest") {
		fmt.Print(t.Text, " ")
	}
	fmt.Println()
	// Output:
	// ne ##west lo ##west
}
