package train

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/glossa-ai/glossa/data"
)

func TestCharVocab(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.txt")
	os.WriteFile(p, []byte("ba\nc é\n"), 0o644)
	c, err := data.OpenCorpus(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := BuildCharVocab(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Chars; len(got) != 6 || got[0] != "\n" || got[5] != "é" {
		t.Fatalf("chars %q", got)
	}
	ids, err := v.Encode("abé\n")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := v.Decode(ids); err != nil || s != "abé\n" {
		t.Fatalf("round trip %q, %v", s, err)
	}
	if _, err := v.Encode("z"); err == nil {
		t.Error("unknown character: no error")
	}
	if err := v.Save(dir); err != nil {
		t.Fatal(err)
	}
	w, err := LoadCharVocab(filepath.Join(dir, CharVocabFile))
	if err != nil || len(w.Chars) != 6 {
		t.Fatalf("load: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "e.txt"), nil, 0o644)
	if c, err = data.OpenCorpus(filepath.Join(dir, "e.txt")); err == nil {
		if _, err := BuildCharVocab(context.Background(), c); err == nil {
			t.Error("empty corpus: no error")
		}
	}
}

// FuzzLoadCharVocab feeds arbitrary bytes to the char_vocab.json reader:
// errors are fine, panics are not, and a vocabulary that loads round-trips.
func FuzzLoadCharVocab(f *testing.F) {
	f.Add([]byte(`{"type":"char","chars":["\n","a","b"]}`))
	f.Add([]byte(`{"type":"char","chars":["ab"]}`))
	f.Add([]byte(`{"type":"char","chars":["a","a"]}`))
	f.Add([]byte(`{}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, CharVocabFile)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := LoadCharVocab(p)
		if err != nil {
			return
		}
		text := ""
		for _, c := range v.Chars {
			text += c
		}
		ids, err := v.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := v.Decode(ids); err != nil || s != text {
			t.Fatalf("round trip %q → %q (%v)", text, s, err)
		}
	})
}
