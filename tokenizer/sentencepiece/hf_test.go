package sentencepiece

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// llama2HFJSON writes a Hugging Face tokenizer.json for the 32,000-piece
// Llama 2 vocabulary, built from llama2.c's export of it the way
// transformers' converter builds one from tokenizer.model: pieces with "▁"
// for spaces, merges = every pair of pieces whose concatenation is a piece,
// ordered by that piece's score, legacy normalizers and byte fallback.
func llama2HFJSON(t testing.TB, m *Model) []byte {
	t.Helper()
	vocab := make(map[string]int, len(m.pieces))
	for id, p := range m.pieces {
		switch id {
		case UnknownID:
			p = "<unk>"
		case BOSID:
			p = "<s>"
		case EOSID:
			p = "</s>"
		}
		vocab[strings.ReplaceAll(p, " ", metaspace)] = id
	}
	type merge struct {
		a, b  string
		score float32
		id    int
	}
	var merges []merge
	for id, p := range m.pieces {
		if id < 259 {
			continue
		}
		for k := 1; k < len(p); k++ {
			a, b := strings.ReplaceAll(p[:k], " ", metaspace), strings.ReplaceAll(p[k:], " ", metaspace)
			ia, okA := vocab[a]
			ib, okB := vocab[b]
			if okA && okB && ia >= 259 && ib >= 259 {
				merges = append(merges, merge{a, b, m.scores[id], id})
			}
		}
	}
	sort.SliceStable(merges, func(i, j int) bool {
		if merges[i].score != merges[j].score {
			return merges[i].score > merges[j].score
		}
		return merges[i].id < merges[j].id
	})
	ms := make([][2]string, len(merges))
	for i, mg := range merges {
		ms[i] = [2]string{mg.a, mg.b}
	}
	unk := "<unk>"
	doc := map[string]any{
		"version": "1.0",
		"added_tokens": []map[string]any{
			{"id": 0, "content": "<unk>", "special": true},
			{"id": 1, "content": "<s>", "special": true},
			{"id": 2, "content": "</s>", "special": true},
		},
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Prepend", "prepend": metaspace},
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": metaspace},
		}},
		"pre_tokenizer": nil,
		"model": map[string]any{
			"type": "BPE", "unk_token": unk, "byte_fallback": true, "fuse_unk": true,
			"vocab": vocab, "merges": ms,
		},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var llama2Once struct {
	sync.Once
	c, hf *Model
	err   error
}

func loadLlama2(t testing.TB) (c, hf *Model) {
	t.Helper()
	path := testenv.Shared(t, "tokenizers", "llama2", "tokenizer.bin")
	llama2Once.Do(func() {
		llama2Once.c, llama2Once.err = LoadLlama2C(path)
		if llama2Once.err == nil {
			llama2Once.hf, llama2Once.err = FromTokenizerJSON(llama2HFJSON(t, llama2Once.c))
		}
	})
	if llama2Once.err != nil {
		t.Fatal(llama2Once.err)
	}
	return llama2Once.c, llama2Once.hf
}

// testTexts returns the GPT-2 golden inputs: prose, whitespace, emoji,
// many scripts.
func testTexts(t testing.TB) []string {
	f, err := os.Open(testenv.Shared(t, "golden", "gpt2_bpe", "cases.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, c.Text)
	}
	return texts
}

// TestHFMatchesLlama2C checks that the rank-driven Hugging Face flavour and
// the score-driven llama2.c flavour agree on the Llama 2 vocabulary, and that
// the Hugging Face decoder restores the text.
func TestHFMatchesLlama2C(t *testing.T) {
	c, hf := loadLlama2(t)
	if hf.VocabSize() != 32000 {
		t.Fatalf("VocabSize = %d", hf.VocabSize())
	}
	for _, text := range testTexts(t) {
		want := c.Encode(text, true, false)
		got := hf.Encode(text, true, false)
		if !slices.Equal(got, want) {
			t.Errorf("%q:\n hf       %v\n llama2.c %v", text, got, want)
			continue
		}
		dec, err := hf.Decode(got, true)
		if err != nil || dec != text {
			t.Errorf("HF Decode(Encode(%q)) = %q, %v", text, dec, err)
		}
		dec, err = c.Decode(want, true)
		if err != nil || dec != text {
			t.Errorf("llama2.c Decode(Encode(%q)) = %q, %v", text, dec, err)
		}
		toks := hf.Tokenize(text)
		end := 0
		for _, tk := range toks {
			if tk.Start < end || tk.End < tk.Start || tk.End > len(text) {
				t.Errorf("%q: bad offsets %+v after %d", text, tk, end)
			}
			end = tk.End
		}
		if end != len(text) {
			t.Errorf("%q: offsets end at %d", text, end)
		}
	}
}

// TestLlama2KnownIDs checks ids that Llama 2's tokenizer is known to give.
func TestLlama2KnownIDs(t *testing.T) {
	c, hf := loadLlama2(t)
	for _, tc := range []struct {
		text string
		ids  []int
	}{
		{"Hello world", []int{1, 15043, 3186}},
		{"Hello, world!", []int{1, 15043, 29892, 3186, 29991}},
	} {
		for name, m := range map[string]*Model{"llama2.c": c, "hf": hf} {
			if got := m.Encode(tc.text, true, false); !slices.Equal(got, tc.ids) {
				t.Errorf("%s: Encode(%q) = %v, want %v", name, tc.text, got, tc.ids)
			}
		}
	}
}
