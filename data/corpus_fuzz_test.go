package data

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzScanDocuments scans arbitrary corpus files in every document mode,
// with a small line bound so the too-long path is exercised: errors are
// fine, panics are not, and no line handed out may exceed the bound or
// hold a line terminator.
func FuzzScanDocuments(f *testing.F) {
	f.Add([]byte("First sentence. Second one!\nNext line\n\nNew doc\r\n"))
	f.Add([]byte("\ufeffBOM line\n\n\n\nx"))
	f.Add([]byte(strings.Repeat("long ", 40) + "\nshort\n"))
	f.Add([]byte("\xff\xfe\x00\r\r\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		path := filepath.Join(t.TempDir(), "corpus.txt")
		if err := os.WriteFile(path, text, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []DocMode{DocBlankLine, DocFile, DocLine} {
			c, err := OpenCorpus(path)
			if err != nil {
				return
			}
			c.MaxLineBytes = 64
			_, err = c.ScanDocuments(context.Background(), mode, func(d Document) error {
				if len(d.Lines) == 0 {
					t.Fatalf("%v: empty document", mode)
				}
				for _, l := range d.Lines {
					if len(l) > 64 || strings.ContainsAny(l, "\n") {
						t.Fatalf("%v: line %q", mode, l)
					}
					for _, s := range SplitSentences(l) {
						if s == "" || s != strings.TrimSpace(s) {
							t.Fatalf("sentence %q of %q", s, l)
						}
					}
				}
				return nil
			})
			_ = err
		}
	})
}
