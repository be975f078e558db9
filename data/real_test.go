package data

import (
	"context"
	"os"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer/auto"
)

// TestBERTPipelineTinyShakespeare runs the BERT data path on real text: a
// WordPiece tokenizer, sentence splitting, a cached packed token file,
// next-sentence pairs and whole-word masking.
func TestBERTPipelineTinyShakespeare(t *testing.T) {
	corpus := testenv.Shared(t, "data", "tinyshakespeare", "input.txt")
	tokPath := testenv.Shared(t, "tokenizers", "bert-base-uncased", "tokenizer.json")
	tok, err := auto.Load(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	tokJSON, err := os.ReadFile(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenCorpus(corpus)
	if err != nil {
		t.Fatal(err)
	}
	opts := TokenizeOptions{Docs: DocBlankLine, Sentences: true, VocabSize: tok.VocabSize(),
		TokenizerID: tokJSON, CacheDir: t.TempDir()}
	f, st, err := BuildTokenFile(context.Background(), c, TokenizerEncoder(tok), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tokenized: %+v", st)
	if st.Scan.Lines != 40000 || st.Docs < 7000 || st.Tokens < 250000 {
		t.Errorf("stats %+v", st)
	}
	docs := f.Documents()
	f.Close()
	f2, st2, err := BuildTokenFile(context.Background(), c, TokenizerEncoder(tok), opts)
	if err != nil || !st2.Cached {
		t.Fatalf("second run not cached: %+v %v", st2, err)
	}
	f2.Close()
	cls, _ := tok.TokenToID("[CLS]")
	sep, _ := tok.TokenToID("[SEP]")
	mask, _ := tok.TokenToID("[MASK]")
	ex, err := CreateNSPInstances(docs, NSPOptions{MaxSeqLen: 128, CLS: int32(cls), SEP: int32(sep)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMasker(MaskOptions{MaskID: int32(mask), VocabSize: tok.VocabSize(), WholeWord: true,
		Special: SpecialIDs(tok), Continuation: ContinuationIDs(tok, "##")})
	if err != nil {
		t.Fatal(err)
	}
	b := m.Collate(NewRand(2), ex[:32], 0, 128)
	if b.B != 32 || b.T != 128 || b.Masked == 0 {
		t.Errorf("batch B=%d T=%d masked=%d", b.B, b.T, b.Masked)
	}
	t.Logf("%d NSP examples; first: %s", len(ex), mustDecode(t, tok.Decode, ex[0].InputIDs))
}

func mustDecode(t *testing.T, dec func([]int, bool) (string, error), ids []int32) string {
	in := make([]int, len(ids))
	for i, v := range ids {
		in[i] = int(v)
	}
	s, err := dec(in, false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCausalLMTinyShakespeare packs the character stream for a GPT.
func TestCausalLMTinyShakespeare(t *testing.T) {
	corpus := testenv.Shared(t, "data", "tinyshakespeare", "input.txt")
	c, err := OpenCorpus(corpus)
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := BuildTokenFile(context.Background(), c, charEncoder,
		TokenizeOptions{Docs: DocFile, KeepNewlines: true, VocabSize: 256, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Len() != 1115394 {
		t.Errorf("%d tokens, want the file's 1115394 bytes", f.Len())
	}
	tr, va, err := SplitTokens(f, 0.1, 257)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewBlockSampler(tr, 256, 1337)
	if err != nil {
		t.Fatal(err)
	}
	blk := make([]int32, 257)
	s.Next(blk)
	ev, err := EvalBlocks(va, 256, 50)
	if err != nil || len(ev) != 50 {
		t.Fatal(err)
	}
}
