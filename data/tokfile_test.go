package data

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeTokens writes docs (of segments of ids) to a packed token file and
// returns its bytes.
func writeTokens(t testing.TB, vocab int, docs [][][]int) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.tok")
	w, err := CreateTokenFile(path, vocab, [32]byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		for i, s := range d {
			if err := w.AppendSegment(s, i == 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

func TestTokenFileRoundTrip(t *testing.T) {
	docs := [][][]int{{{1, 2, 3}, {4}}, {{5, 6}}, {{0, 7, 7, 7, 7}}}
	for _, vocab := range []int{8, 1 << 16, 1<<16 + 1, 200000} {
		path, raw := writeTokens(t, vocab, docs)
		wantSize := 80 + 24 + 8*(4+1) + 8*(3+1) // 11 uint16 tokens padded to 8 bytes
		if vocab > 1<<16 {
			wantSize = 80 + 48 + 8*(4+1) + 8*(3+1)
		}
		if len(raw) != wantSize {
			t.Errorf("vocab %d: file size %d, want %d", vocab, len(raw), wantSize)
		}
		f, err := OpenTokenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Len() != 11 || f.NumSegments() != 4 || f.NumDocs() != 3 || f.VocabSize() != vocab || f.Key() != [32]byte{1, 2, 3} {
			t.Errorf("vocab %d: header len=%d segs=%d docs=%d", vocab, f.Len(), f.NumSegments(), f.NumDocs())
		}
		got := f.Documents()
		want := [][][]int32{{{1, 2, 3}, {4}}, {{5, 6}}, {{0, 7, 7, 7, 7}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("vocab %d: documents %v, want %v", vocab, got, want)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// No temporary files are left behind.
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", "*.tmp-*")); len(m) > 0 {
		t.Errorf("leftover temporary files %v", m)
	}
}

func TestTokenFileErrors(t *testing.T) {
	_, raw := writeTokens(t, 100, [][][]int{{{1, 2, 3}, {4, 5}}, {{6}}})
	w, _ := CreateTokenFile(filepath.Join(t.TempDir(), "y.tok"), 10, [32]byte{})
	if err := w.AppendSegment([]int{3, 10}, true); err == nil {
		t.Error("id 10 in vocabulary 10: no error")
	}
	w.Abort()
	corrupt := func(off int, b byte) []byte {
		c := append([]byte(nil), raw...)
		c[off] = b
		return c
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", raw[:40]},
		{"magic", corrupt(0, 'X')},
		{"version", corrupt(8, 9)},
		{"dtype", corrupt(12, 3)},
		{"truncated", raw[:len(raw)-8]},
		{"huge count", corrupt(31, 0x7f)},
		{"token beyond vocab", corrupt(80, 200)},
		{"offsets", corrupt(len(raw)-8*4, 9)},
	}
	for _, tt := range tests {
		if _, err := ParseTokenFile(tt.data); !errors.Is(err, ErrBadTokenFile) {
			t.Errorf("%s: err = %v, want ErrBadTokenFile", tt.name, err)
		}
	}
}

// charEncoder encodes bytes as ids (vocabulary 256).
var charEncoder = EncoderFunc(func(s string) ([]int, error) {
	ids := make([]int, len(s))
	for i := range len(s) {
		ids[i] = int(s[i])
	}
	return ids, nil
})

func TestBuildTokenFile(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	for i := range 3000 {
		sb.WriteString("line number ")
		sb.WriteString(strings.Repeat("ab", i%7))
		sb.WriteString(". Second one!\n")
		if i%10 == 9 {
			sb.WriteString("\n")
		}
	}
	p := writeFile(t, filepath.Join(dir, "corpus.txt"), sb.String())
	c, err := OpenCorpus(p)
	if err != nil {
		t.Fatal(err)
	}
	opts := TokenizeOptions{VocabSize: 256, TokenizerID: []byte("bytes-v1"), CacheDir: filepath.Join(dir, "cache"), Sentences: true}
	f1, st1, err := BuildTokenFile(context.Background(), c, charEncoder, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer f1.Close()
	if st1.Cached || st1.Docs != 300 || st1.Segments != 6000 {
		t.Errorf("first build stats %+v, want 300 docs, 6000 segments", st1)
	}
	first, _ := f1.Segment(0)
	_, end := f1.Segment(1)
	got := make([]int32, end-first)
	f1.Read(got, first)
	if string(int32sToBytes(got)) != "line number .Second one!" {
		t.Errorf("first two segments %q", int32sToBytes(got))
	}
	// Sequential encoding gives the same file.
	opts1 := opts
	opts1.Workers, opts1.CacheDir = 1, filepath.Join(dir, "cache1")
	f2, _, err := BuildTokenFile(context.Background(), c, charEncoder, opts1)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	if !reflect.DeepEqual(f1.Documents(), f2.Documents()) {
		t.Error("parallel and sequential encodings differ")
	}
	// Second run hits the cache without encoding.
	calls := 0
	counting := EncoderFunc(func(s string) ([]int, error) { calls++; return charEncoder(s) })
	f3, st3, err := BuildTokenFile(context.Background(), c, counting, opts)
	if err != nil {
		t.Fatal(err)
	}
	f3.Close()
	if !st3.Cached || calls != 0 || st3.Path != st1.Path {
		t.Errorf("second run: cached=%v calls=%d", st3.Cached, calls)
	}
	// A changed tokenizer or corpus misses the cache.
	opts2 := opts
	opts2.TokenizerID = []byte("bytes-v2")
	f4, st4, err := BuildTokenFile(context.Background(), c, charEncoder, opts2)
	if err != nil {
		t.Fatal(err)
	}
	f4.Close()
	if st4.Cached {
		t.Error("changed tokenizer: cache hit")
	}
	os.Chtimes(p, time.Now(), time.Now().Add(time.Hour))
	f5, st5, err := BuildTokenFile(context.Background(), c, charEncoder, opts)
	if err != nil {
		t.Fatal(err)
	}
	f5.Close()
	if st5.Cached {
		t.Error("touched corpus: cache hit")
	}
}

func TestBuildTokenFileKeepNewlines(t *testing.T) {
	dir := t.TempDir()
	text := "First Citizen:\nBefore we proceed.\n\nAll:\nSpeak.\n"
	p := writeFile(t, filepath.Join(dir, "in.txt"), text)
	c, _ := OpenCorpus(p)
	f, st, err := BuildTokenFile(context.Background(), c, charEncoder,
		TokenizeOptions{VocabSize: 256, Docs: DocFile, KeepNewlines: true, CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all := make([]int32, f.Len())
	f.Read(all, 0)
	if string(int32sToBytes(all)) != text || st.Docs != 1 {
		t.Errorf("round trip %q (docs %d), want %q", int32sToBytes(all), st.Docs, text)
	}
	// A corpus without tokens is an error.
	empty := writeFile(t, filepath.Join(dir, "empty.txt"), "\n\n")
	c, _ = OpenCorpus(empty)
	if _, _, err := BuildTokenFile(context.Background(), c, charEncoder, TokenizeOptions{VocabSize: 256, CacheDir: dir}); err == nil {
		t.Error("empty corpus: no error")
	}
	// Encoder errors carry the line.
	c, _ = OpenCorpus(p)
	failing := EncoderFunc(func(string) ([]int, error) { return nil, errors.New("boom") })
	if _, _, err := BuildTokenFile(context.Background(), c, failing, TokenizeOptions{VocabSize: 256, CacheDir: dir}); err == nil || !strings.Contains(err.Error(), "in.txt:1") {
		t.Errorf("encoder error = %v", err)
	}
}

func int32sToBytes(s []int32) []byte {
	b := make([]byte, len(s))
	for i, v := range s {
		b[i] = byte(v)
	}
	return b
}

func FuzzParseTokenFile(f *testing.F) {
	_, raw := writeTokens(f, 300, [][][]int{{{1, 2, 3}, {4, 5}}, {{299}}})
	f.Add(raw)
	_, raw = writeTokens(f, 70000, [][][]int{{{69999, 0}}})
	f.Add(raw)
	f.Add([]byte(tokMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		tf, err := ParseTokenFile(b)
		if err != nil {
			return
		}
		// Every accessor must stay in bounds on a file that parsed.
		docs := tf.Documents()
		n := 0
		for _, d := range docs {
			for _, s := range d {
				n += len(s)
				for _, id := range s {
					if int(id) >= tf.VocabSize() {
						t.Fatalf("id %d >= vocab %d", id, tf.VocabSize())
					}
				}
			}
		}
		if n != tf.Len() {
			t.Fatalf("documents hold %d tokens, Len %d", n, tf.Len())
		}
	})
}
