package bpe

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// loadGPT2 loads the GPT-2 vocabulary once per test binary.
var gpt2Once struct {
	sync.Once
	m   *Model
	err error
}

func loadGPT2(t testing.TB) *Model {
	t.Helper()
	dir := testenv.Shared(t, "tokenizers", "gpt2")
	gpt2Once.Do(func() {
		gpt2Once.m, gpt2Once.err = LoadFiles(filepath.Join(dir, "encoder.json"), filepath.Join(dir, "vocab.bpe"))
	})
	if gpt2Once.err != nil {
		t.Fatal(gpt2Once.err)
	}
	return gpt2Once.m
}

type goldenCase struct {
	Text           string `json:"text"`
	IDs            []int  `json:"ids"`
	IDsPythonRegex []int  `json:"ids_python_regex"`
}

func readGolden(t testing.TB) []goldenCase {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "golden", "gpt2_bpe", "expected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []goldenCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c goldenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestGolden checks every case of ../shared/golden/gpt2_bpe against
// js-tiktoken's ids, or, on the two lines where JavaScript's \s differs from
// Unicode White_Space, against the Python regex module's ids.
func TestGolden(t *testing.T) {
	m := loadGPT2(t)
	cases := readGolden(t)
	if len(cases) != 285 {
		t.Fatalf("%d golden cases, want 285", len(cases))
	}
	fail := 0
	for i, c := range cases {
		want := c.IDs
		if c.IDsPythonRegex != nil {
			want = c.IDsPythonRegex
		}
		got := m.Encode(c.Text)
		if !slices.Equal(got, want) {
			fail++
			t.Errorf("case %d %q:\n got %v\nwant %v", i, c.Text, got, want)
		}
		toks := m.Tokenize(c.Text)
		if len(toks) != len(got) {
			t.Errorf("case %d: Tokenize gives %d tokens, Encode %d", i, len(toks), len(got))
		}
		end := 0
		for j, tk := range toks {
			if j < len(got) && tk.ID != got[j] {
				t.Errorf("case %d token %d: Tokenize id %d, Encode %d", i, j, tk.ID, got[j])
			}
			if tk.Start != end || tk.End <= tk.Start || tk.End > len(c.Text) {
				t.Errorf("case %d token %d: offsets [%d,%d) after %d", i, j, tk.Start, tk.End, end)
			}
			end = tk.End
		}
		if end != len(c.Text) {
			t.Errorf("case %d: offsets end at %d, text has %d bytes", i, end, len(c.Text))
		}
		dec, err := m.Decode(want, false)
		if err != nil || dec != c.Text {
			t.Errorf("case %d: Decode = %q, %v; want %q", i, dec, err, c.Text)
		}
		if fail > 10 {
			t.Fatal("too many failures")
		}
	}
}
