package data

import (
	"context"
	"os"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer/auto"
)

// BenchmarkBuildTokenFile tokenises tiny Shakespeare (1.1 MB) with the
// BERT uncased WordPiece tokenizer, uncached and cached.
func BenchmarkBuildTokenFile(b *testing.B) {
	corpus := testenv.Shared(b, "data", "tinyshakespeare", "input.txt")
	tokPath := testenv.Shared(b, "tokenizers", "bert-base-uncased", "tokenizer.json")
	tok, err := auto.Load(tokPath)
	if err != nil {
		b.Fatal(err)
	}
	id, _ := os.ReadFile(tokPath)
	c, _ := OpenCorpus(corpus)
	st, _ := os.Stat(corpus)
	enc := TokenizerEncoder(tok)
	for _, cached := range []bool{false, true} {
		name := "uncached"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			opts := TokenizeOptions{Sentences: true, VocabSize: tok.VocabSize(), CacheDir: b.TempDir()}
			if cached {
				opts.TokenizerID = id
				f, _, err := BuildTokenFile(context.Background(), c, enc, opts)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			b.SetBytes(st.Size())
			for b.Loop() {
				f, _, err := BuildTokenFile(context.Background(), c, enc, opts)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

// BenchmarkMask masks 128-token sequences.
func BenchmarkMask(b *testing.B) {
	m, err := NewMasker(MaskOptions{MaskID: tMASK, VocabSize: tVocab, Special: testSpecial(), Continuation: testCont(), WholeWord: true})
	if err != nil {
		b.Fatal(err)
	}
	seqs, _ := PackSentences(synthDocs(50, 1), 128, tCLS, tSEP)
	rng := NewRand(1)
	in, lab := make([]int32, 128), make([]int32, 128)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := seqs[i%len(seqs)].InputIDs
		m.Mask(rng, s, in[:len(s)], lab[:len(s)])
		i++
	}
}
