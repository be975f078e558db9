package pretrain

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
	if got := v.Chars(); len(got) != 6 || got[0] != "\n" || got[5] != "é" {
		t.Fatalf("chars %q", got)
	}
	ids, err := v.Encode("abé\n")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := v.Decode(ids, false); err != nil || s != "abé\n" {
		t.Fatalf("round trip %q, %v", s, err)
	}
	if _, err := v.Encode("z"); err == nil {
		t.Error("unknown character: no error")
	}
	os.WriteFile(filepath.Join(dir, "e.txt"), nil, 0o644)
	if c, err = data.OpenCorpus(filepath.Join(dir, "e.txt")); err == nil {
		if _, err := BuildCharVocab(context.Background(), c); err == nil {
			t.Error("empty corpus: no error")
		}
	}
}
