package data

import (
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		zw := gzip.NewWriter(f)
		zw.Write([]byte(content))
		zw.Close()
		f.Close()
		return path
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func collectLines(t *testing.T, c *Corpus) ([]string, ScanStats) {
	t.Helper()
	var got []string
	st, err := c.ScanLines(context.Background(), func(l Line) error {
		got = append(got, l.Text)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st
}

func TestCorpusSources(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.txt"), "\uFEFFone\r\ntwo\n")
	writeFile(t, filepath.Join(dir, "sub", "b.txt.gz"), "three\nfour") // no final newline
	writeFile(t, filepath.Join(dir, ".hidden"), "secret\n")
	writeFile(t, filepath.Join(dir, "c.md"), "five\n")

	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"file", []string{filepath.Join(dir, "a.txt")}, []string{"one", "two"}},
		{"gzip", []string{filepath.Join(dir, "sub", "b.txt.gz")}, []string{"three", "four"}},
		{"folder", []string{dir}, []string{"one", "two", "five", "three", "four"}},
		{"glob", []string{filepath.Join(dir, "*.txt"), filepath.Join(dir, "*.md")}, []string{"one", "two", "five"}},
		{"dedup", []string{filepath.Join(dir, "a.txt"), filepath.Join(dir, "a.txt")}, []string{"one", "two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := OpenCorpus(tt.paths...)
			if err != nil {
				t.Fatal(err)
			}
			got, st := collectLines(t, c)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lines %q, want %q", got, tt.want)
			}
			if st.Lines != int64(len(tt.want)) {
				t.Errorf("stats %+v", st)
			}
		})
	}
	for _, bad := range []string{filepath.Join(dir, "nope.txt"), filepath.Join(dir, "*.xyz")} {
		if _, err := OpenCorpus(bad); err == nil {
			t.Errorf("OpenCorpus(%s): no error", bad)
		}
	}
	if _, err := OpenCorpus(); err == nil {
		t.Error("OpenCorpus(): no error")
	}
}

func TestCorpusLongLines(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 5000)
	p := writeFile(t, filepath.Join(dir, "a.txt"), "short\n"+long+"\nafter\n"+long)
	c := &Corpus{Files: []string{p}, MaxLineBytes: 100}
	_, err := c.ScanLines(context.Background(), func(Line) error { return nil })
	if !errors.Is(err, ErrLineTooLong) || !strings.Contains(err.Error(), "a.txt:2") {
		t.Fatalf("err = %v, want ErrLineTooLong at line 2", err)
	}
	c.SkipLongLines = true
	got, st := collectLines(t, c)
	if !reflect.DeepEqual(got, []string{"short", "after"}) || st.SkippedLong != 2 {
		t.Errorf("got %q, stats %+v", got, st)
	}
	// A line of exactly the limit is accepted, with or without \r\n.
	p2 := writeFile(t, filepath.Join(dir, "b.txt"), strings.Repeat("y", 100)+"\r\n"+strings.Repeat("z", 101)+"\n")
	c = &Corpus{Files: []string{p2}, MaxLineBytes: 100, SkipLongLines: true}
	got, st = collectLines(t, c)
	if len(got) != 1 || len(got[0]) != 100 || st.SkippedLong != 1 {
		t.Errorf("limit edge: got %d lines, stats %+v", len(got), st)
	}
}

func TestScanDocuments(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "a.txt"), "\ns1\ns2\n\n\ns3\n")
	b := writeFile(t, filepath.Join(dir, "b.txt"), "s4\n\ns5\n")
	c := &Corpus{Files: []string{a, b}}
	tests := []struct {
		mode DocMode
		want [][]string
	}{
		{DocBlankLine, [][]string{{"s1", "s2"}, {"s3"}, {"s4"}, {"s5"}}},
		{DocFile, [][]string{{"s1", "s2", "", "", "s3"}, {"s4", "", "s5"}}},
		{DocLine, [][]string{{"s1"}, {"s2"}, {"s3"}, {"s4"}, {"s5"}}},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			var got [][]string
			if _, err := c.ScanDocuments(context.Background(), tt.mode, func(d Document) error {
				got = append(got, d.Lines)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			m, err := ParseDocMode(tt.mode.String())
			if err != nil || m != tt.mode {
				t.Errorf("ParseDocMode round trip: %v %v", m, err)
			}
		})
	}
}

func TestSplitSentences(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello world. How are you? Fine!", []string{"Hello world.", "How are you?", "Fine!"}},
		{"Pi is 3.14 today. Yes.", []string{"Pi is 3.14 today.", "Yes."}},
		{"Mr. Smith met J. Doe. They talked.", []string{"Mr. Smith met J. Doe.", "They talked."}},
		{`He said "Stop!" Then left.`, []string{`He said "Stop!"`, "Then left."}},
		{"Wait... what?! OK", []string{"Wait...", "what?!", "OK"}},
		{"今天天气很好。我们去公园吧！你来吗？好", []string{"今天天气很好。", "我们去公园吧！", "你来吗？", "好"}},
		{"他说：「好。」然后走了。", []string{"他说：「好。」", "然后走了。"}},
		{"see www.example.com now", []string{"see www.example.com now"}},
		{"  ", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := SplitSentences(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitSentences(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
