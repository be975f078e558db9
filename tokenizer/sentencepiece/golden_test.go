package sentencepiece

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer"
)

func loadTok512(t testing.TB) *Model {
	t.Helper()
	m, err := LoadLlama2C(testenv.Shared(t, "models", "stories260K", "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLlama2CEncodeGolden checks run.c's encode(text, bos=1, eos=0) ids.
func TestLlama2CEncodeGolden(t *testing.T) {
	m := loadTok512(t)
	if m.VocabSize() != 512 {
		t.Fatalf("VocabSize = %d, want 512", m.VocabSize())
	}
	f, err := os.Open(testenv.Shared(t, "golden", "llama2c", "tok512_encode.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var c struct {
			Text string `json:"text"`
			IDs  []int  `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		n++
		got := m.Encode(c.Text, true, false)
		if !slices.Equal(got, c.IDs) {
			t.Errorf("Encode(%q):\n got %v\nwant %v", c.Text, got, c.IDs)
		}
		// Tokenize is Encode without BOS, with offsets tiling the text.
		toks := m.Tokenize(c.Text)
		if len(toks) != len(got)-1 {
			t.Errorf("Tokenize(%q): %d tokens, want %d", c.Text, len(toks), len(got)-1)
			continue
		}
		end := 0
		for i, tk := range toks {
			if tk.ID != got[i+1] || tk.Start != end || tk.End < tk.Start {
				t.Errorf("Tokenize(%q)[%d] = %+v, after offset %d", c.Text, i, tk, end)
			}
			end = tk.End
		}
		if end != len(c.Text) {
			t.Errorf("Tokenize(%q): offsets end at %d", c.Text, end)
		}
		dec, err := m.Decode(got, true)
		if err != nil || dec != c.Text {
			t.Errorf("Decode(Encode(%q)) = %q, %v", c.Text, dec, err)
		}
	}
	if n != 26 {
		t.Errorf("%d cases, want 26", n)
	}
}

// TestLlama2CDecodeGreedy decodes run.c's greedy generations: its stdout is
// the decoded pieces after the BOS (run.c also drops unprintable bytes,
// which these texts do not have).
func TestLlama2CDecodeGreedy(t *testing.T) {
	m := loadTok512(t)
	data, err := os.ReadFile(testenv.Shared(t, "golden", "llama2c", "stories260K_greedy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Runs []struct {
			Prompt       string `json:"prompt"`
			OutputText   string `json:"output_text"`
			TokenIDs     []int  `json:"token_ids"`
			StoppedOnBOS bool   `json:"stopped_on_bos"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Runs) != 4 {
		t.Fatalf("%d runs", len(g.Runs))
	}
	for _, r := range g.Runs {
		ids := r.TokenIDs
		if r.StoppedOnBOS {
			ids = ids[:len(ids)-1]
		}
		got, err := m.Decode(ids, true)
		if err != nil {
			t.Fatal(err)
		}
		if got != r.OutputText {
			t.Errorf("prompt %q:\n got %q\nwant %q", r.Prompt, got, r.OutputText)
		}
		if r.Prompt != "" && !strings.HasPrefix(got, r.Prompt) {
			t.Errorf("prompt %q not echoed", r.Prompt)
		}
	}
}

func TestParseLlama2CErrors(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":          nil,
		"header only":    {4, 0, 0, 0},
		"negative max":   {0xff, 0xff, 0xff, 0xff},
		"truncated":      {4, 0, 0, 0, 0, 0, 0, 0},
		"long piece":     {4, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 'a'},
		"over max":       {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'a', 'b'},
		"negative len":   {4, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
		"too few pieces": {4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a'},
	} {
		if _, err := ParseLlama2C(data); err == nil || !strings.HasPrefix(err.Error(), "sentencepiece: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := LoadLlama2C("/nonexistent/tokenizer.bin"); err == nil {
		t.Error("LoadLlama2C of a missing file succeeded")
	}
	for _, bad := range []string{
		`{`,
		`{"model": {"type": "Unigram"}}`,
		`{"model": {"type": "BPE", "vocab": {"a": 0}}}`, // no ▁ handling
		`{"normalizer": {"type": "NFKC"}, "model": {"type": "BPE", "vocab": {"a": 0}}}`,
		`{"pre_tokenizer": {"type": "Metaspace"}, "model": {"type": "BPE", "vocab": {"a": 0, "b": 2}}}`,
		`{"pre_tokenizer": {"type": "Metaspace"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}`,
		`{"pre_tokenizer": {"type": "Metaspace"}, "model": {"type": "BPE", "vocab": {"a": 0}, "unk_token": "<unk>"}}`,
	} {
		if _, err := FromTokenizerJSON([]byte(bad)); err == nil {
			t.Errorf("FromTokenizerJSON(%s) succeeded", bad)
		}
	}
}

// TestMetaspaceSplit: with Metaspace split, merges stop at word starts.
func TestMetaspaceSplit(t *testing.T) {
	doc := func(split bool) string {
		return `{"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": ` +
			map[bool]string{true: "true", false: "false"}[split] + `},
		"model": {"type": "BPE", "vocab": {"<unk>": 0, "▁": 1, "a": 2, "b": 3, "b▁": 4, "▁a": 5},
		"merges": ["b ▁", "▁ a"], "unk_token": "<unk>"}}`
	}
	for _, tc := range []struct {
		split bool
		want  []int
	}{
		{true, []int{5, 3, 5, 3}},  // ▁a b | ▁a b
		{false, []int{5, 4, 2, 3}}, // ▁a b▁ a b: "b ▁" outranks "▁ a"
	} {
		m, err := FromTokenizerJSON([]byte(doc(tc.split)))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Encode("ab ab", false, false); !slices.Equal(got, tc.want) {
			t.Errorf("split %v: %v, want %v", tc.split, got, tc.want)
		}
		if s, _ := m.Decode(tc.want, false); s != "ab ab" {
			t.Errorf("split %v: Decode = %q", tc.split, s)
		}
	}
}

func TestAppendTokens(t *testing.T) {
	m := loadTok512(t)
	prefix := []tokenizer.Token{{ID: 7}}
	got := m.AppendTokens(prefix, "Once upon a time")
	want := append([]tokenizer.Token{{ID: 7}}, m.Tokenize("Once upon a time")...)
	if !slices.Equal(got, want) {
		t.Errorf("AppendTokens = %+v, want %+v", got, want)
	}
}

// TestMergeScanHeapAgree runs both merge loops on the same random chunks.
func TestMergeScanHeapAgree(t *testing.T) {
	c, hf := loadLlama2(t)
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"a", "b", "e", "r", "s", "t", "th", "in", "é", "日", "\xff", "on", "he", "l", "o"}
	var h candHeap
	for _, m := range []*Model{c, hf} {
		for trial := range 500 {
			var sb strings.Builder
			for range 1 + rng.IntN(scanMax-1) {
				sb.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			syms := m.initial(sb.String(), false)
			if len(syms) > scanMax {
				syms = syms[:scanMax]
			}
			// Compare ids and spans, not the list links.
			strip := func(s []symbol) [][3]int32 {
				var out [][3]int32
				for _, x := range s {
					out = append(out, [3]int32{x.id, x.start, x.end})
				}
				return out
			}
			a := strip(m.mergeScan(slices.Clone(syms)))
			b := strip(m.mergeHeap(slices.Clone(syms), &h))
			if !slices.Equal(a, b) {
				t.Fatalf("trial %d %q: scan %v, heap %v", trial, sb.String(), a, b)
			}
		}
	}
}
