package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	if err := WriteFile(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	tests := []struct {
		name  string
		write func(io.Writer) error
		want  string
		err   error
	}{
		{"replace", func(w io.Writer) error { _, err := io.WriteString(w, "new content"); return err }, "new content", nil},
		{"failed write keeps the old file", func(w io.Writer) error { io.WriteString(w, "partial"); return boom }, "new content", boom},
		{"empty", func(io.Writer) error { return nil }, "", nil},
	}
	for _, tt := range tests {
		err := Write(p, tt.write)
		if !errors.Is(err, tt.err) {
			t.Fatalf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
		got, rerr := os.ReadFile(p)
		if rerr != nil || string(got) != tt.want {
			t.Fatalf("%s: file = %q (%v), want %q", tt.name, got, rerr, tt.want)
		}
		st, _ := os.Stat(p)
		if st.Mode().Perm() != 0o644 {
			t.Fatalf("%s: mode %v", tt.name, st.Mode())
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
}

func TestWriteMissingFolder(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "x"), nil); err == nil {
		t.Fatal("want an error for a missing folder")
	}
}
