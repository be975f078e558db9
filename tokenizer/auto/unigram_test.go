package auto_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
	"github.com/glossa-ai/glossa/tokenizer/unigram"
)

type spmCase struct {
	Text   string   `json:"text"`
	IDs    []int    `json:"ids"`
	Pieces []string `json:"pieces"`
}

func spmGolden(t *testing.T) []spmCase {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "golden", "spm_unigram", "cases.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []spmCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c spmCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	return cases
}

func multi30kPath(t *testing.T) string {
	return testenv.Shared(t, "tokenizers", "multi30k-unigram", "multi30k-unigram.model")
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func encode(t *testing.T, tok *tokenizer.Tokenizer, text string) tokenizer.Encoding {
	t.Helper()
	e, err := tok.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestUnigramModelFile: a Unigram .model file loads with sentencepiece's
// ids and no template; with special-token text taken as text, every golden
// case is exact through the Tokenizer, offsets included.
func TestUnigramModelFile(t *testing.T) {
	tok, err := auto.Load(multi30kPath(t))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := tok.WithOptions(tokenizer.Options{SpecialAsText: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range spmGolden(t) {
		e := encode(t, plain, c.Text)
		if !slices.Equal(e.IDs, c.IDs) || !slices.Equal(e.Tokens, c.Pieces) {
			t.Errorf("%q: %v %q, want %v %q", c.Text, e.IDs, e.Tokens, c.IDs, c.Pieces)
		}
		for _, o := range e.Offsets {
			if o[0] < 0 || o[1] < o[0] || o[1] > len(c.Text) {
				t.Errorf("%q: offsets %v", c.Text, o)
			}
		}
	}
	// Matched as special tokens, control pieces become their ids.
	if e := encode(t, tok, "a</s>"); !slices.Equal(e.IDs, []int{4, 2}) {
		t.Errorf("a</s>: %v", e.IDs)
	}
	e, err := tok.EncodePair("A man.", "Ein Mann.")
	if err != nil || !slices.Equal(e.IDs, []int{8, 20, 3, 10, 18, 3}) || !slices.Equal(e.TypeIDs, []int{0, 0, 0, 1, 1, 1}) {
		t.Errorf("pair: %v %v %v", e.IDs, e.TypeIDs, err)
	}
}

// t5Model rewrites the multi30k model in T5's layout: <pad> </s> <unk>
// instead of <unk> <s> </s>.
func t5Model(t *testing.T) []byte {
	data, err := os.ReadFile(multi30kPath(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := spmodel.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	pieces := []spmodel.Piece{{Piece: "<pad>", Type: spmodel.Control}, {Piece: "</s>", Type: spmodel.Control}, {Piece: "<unk>", Type: spmodel.Unknown}}
	p.Pieces = append(pieces, p.Pieces[3:]...)
	p.Trainer.PadID, p.Trainer.EOSID, p.Trainer.UnkID, p.Trainer.BOSID = 0, 1, 2, -1
	return p.Marshal()
}

func TestT5Layout(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "spiece.model"), t5Model(t))
	writeFile(t, filepath.Join(dir, "tokenizer_config.json"), []byte(`{"tokenizer_class": "T5TokenizerFast", "extra_ids": 100}`))
	tok, err := auto.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := tok.VocabSize(); n != 8000+100 {
		t.Errorf("VocabSize %d, want 8100", n)
	}
	// The multi30k ids, then </s>.
	e := encode(t, tok, "A man in an orange hat starring at something.")
	want := []int{8, 20, 5, 28, 164, 94, 6491, 44, 266, 3, 1}
	if !slices.Equal(e.IDs, want) || !slices.Equal(e.AttentionMask, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}) {
		t.Errorf("Encode = %v, want %v", e.IDs, want)
	}
	if e := encode(t, tok, "a <extra_id_0> man <extra_id_99>"); !slices.Equal(e.IDs, []int{4, 8099, 20, 8000, 1}) {
		t.Errorf("sentinels: %v", e.IDs)
	}
	if e, _ := tok.EncodePair("a", "man"); !slices.Equal(e.IDs, []int{4, 1, 20, 1}) {
		t.Errorf("pair: %v", e.IDs)
	}
	s, err := tok.Decode([]int{8, 20, 8099, 3, 1, 0}, true)
	if err != nil || s != "A man." {
		t.Errorf("Decode = %q, %v", s, err)
	}
	// Without a config, spiece.model with T5's first pieces is T5.
	os.Remove(filepath.Join(dir, "tokenizer_config.json"))
	tok, err = auto.Load(filepath.Join(dir, "spiece.model"))
	if err != nil {
		t.Fatal(err)
	}
	if e := encode(t, tok, "a"); !slices.Equal(e.IDs, []int{4, 1}) || tok.VocabSize() != 8100 {
		t.Errorf("no config: %v, %d ids", e.IDs, tok.VocabSize())
	}
	// Truncation and padding keep working (T5 pads with <pad> = 0).
	tr, err := tok.WithOptions(tokenizer.Options{
		Truncation: tokenizer.Truncation{MaxLength: 4},
		Padding:    tokenizer.Padding{Strategy: tokenizer.PadLongest, ID: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := tr.EncodeBatch([]string{"A man in an orange hat", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(batch[0].IDs, []int{8, 20, 5, 1}) || !slices.Equal(batch[1].IDs, []int{4, 1, 0, 0}) ||
		!slices.Equal(batch[1].Tokens, []string{"▁a", "</s>", "<pad>", "<pad>"}) || !slices.Equal(batch[1].AttentionMask, []int{1, 1, 0, 0}) {
		t.Errorf("batch: %v %v %q %v", batch[0].IDs, batch[1].IDs, batch[1].Tokens, batch[1].AttentionMask)
	}
}

func TestMarianLayout(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(multi30kPath(t))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "source.spm"), src)
	writeFile(t, filepath.Join(dir, "target.spm"), src)
	m, err := unigram.ParseModel(src)
	if err != nil {
		t.Fatal(err)
	}
	// Marian's vocab.json: </s> 0, <unk> 1, a language code, the pieces in
	// reverse order (all but the three specials and "▁orange"), <pad> last.
	vocab := map[string]int{"</s>": 0, "<unk>": 1, ">>deu<<": 2}
	for id := m.VocabSize() - 1; id >= 3; id-- {
		if p, _ := m.IDToToken(id); p != "▁orange" {
			vocab[p] = len(vocab)
		}
	}
	vocab["<pad>"] = len(vocab)
	vj, _ := json.Marshal(vocab)
	writeFile(t, filepath.Join(dir, "vocab.json"), vj)
	for _, path := range []string{dir, filepath.Join(dir, "vocab.json"), filepath.Join(dir, "source.spm")} {
		tok, err := auto.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if tok.VocabSize() != len(vocab) {
			t.Fatalf("%s: VocabSize %d, want %d", path, tok.VocabSize(), len(vocab))
		}
		e := encode(t, tok, ">>deu<< A man in an orange hat.")
		var want []int
		want = append(want, 2)
		for _, p := range m.Pieces("A man in an orange hat.") {
			id, ok := vocab[p]
			if !ok {
				id = 1
			}
			want = append(want, id)
		}
		want = append(want, 0)
		if !slices.Equal(e.IDs, want) {
			t.Errorf("%s: Encode = %v, want %v", path, e.IDs, want)
		}
		s, err := tok.Decode(e.IDs, true)
		// <unk> is a special token, skipped.
		if err != nil || s != ">>deu<< A man in an hat." {
			t.Errorf("%s: Decode = %q, %v", path, s, err)
		}
	}
}

func TestXLMRLayout(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(multi30kPath(t))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sentencepiece.bpe.model"), src)
	tok, err := auto.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 8002 {
		t.Errorf("VocabSize %d, want 8002", tok.VocabSize())
	}
	// <mask> takes the space before it; "." starts a new segment, so it
	// gets a dummy prefix ("▁" ".").
	e := encode(t, tok, "A man <mask>.")
	if want := []int{0, 9, 21, 8001, 37, 4, 2}; !slices.Equal(e.IDs, want) {
		t.Errorf("Encode = %v, want %v", e.IDs, want)
	}
	if e := encode(t, tok, "£"); !slices.Equal(e.IDs, []int{0, 37, 3, 2}) {
		t.Errorf("<unk>: %v", e.IDs)
	}
	if e, _ := tok.EncodePair("A", "man"); !slices.Equal(e.IDs, []int{0, 9, 2, 2, 21, 2}) {
		t.Errorf("pair: %v", e.IDs)
	}
	if s, _ := tok.Decode([]int{0, 9, 21, 4, 2, 1}, true); s != "A man." {
		t.Errorf("Decode = %q", s)
	}
}

// TestUnigramTokenizerJSON: a Unigram tokenizer.json loads through auto
// with its added tokens and post-processor.
func TestUnigramTokenizerJSON(t *testing.T) {
	m, err := unigram.LoadModel(multi30kPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.WriteTokenizerJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	doc["post_processor"] = map[string]any{
		"type":   "TemplateProcessing",
		"single": []any{map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}, map[string]any{"SpecialToken": map[string]any{"id": "</s>", "type_id": 0}}},
		"pair": []any{map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}, map[string]any{"SpecialToken": map[string]any{"id": "</s>", "type_id": 0}},
			map[string]any{"Sequence": map[string]any{"id": "B", "type_id": 1}}, map[string]any{"SpecialToken": map[string]any{"id": "</s>", "type_id": 1}}},
		"special_tokens": map[string]any{"</s>": map[string]any{"id": "</s>", "ids": []int{2}, "tokens": []string{"</s>"}}},
	}
	data, _ := json.Marshal(doc)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "tokenizer.json"), data)
	tok, err := auto.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.Model().(*unigram.Model); !ok {
		t.Fatalf("model is %T", tok.Model())
	}
	e := encode(t, tok, "A man in an orange hat starring at something.")
	if want := []int{8, 20, 5, 28, 164, 94, 6491, 44, 266, 3, 2}; !slices.Equal(e.IDs, want) {
		t.Errorf("Encode = %v, want %v", e.IDs, want)
	}
	if e, _ := tok.EncodePair("A man", "Ein Mann"); !slices.Equal(e.IDs, []int{8, 20, 2, 10, 18, 2}) || !slices.Equal(e.TypeIDs, []int{0, 0, 0, 1, 1, 1}) {
		t.Errorf("pair: %v %v", e.IDs, e.TypeIDs)
	}
	if s, _ := tok.Decode([]int{8, 20, 5, 28, 164, 94, 2}, true); s != "A man in an orange hat" {
		t.Errorf("Decode = %q", s)
	}
}
