package text2text

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadExamplesText(t *testing.T) {
	dir := t.TempDir()
	src := write(t, dir, "src.de", "Ein Hund.\r\nZwei Katzen.\n")
	ref := write(t, dir, "ref.en", "A dog.\nTwo cats.\n")
	ref2 := filepath.Join(dir, "ref2.en.gz")
	f, _ := os.Create(ref2)
	zw := gzip.NewWriter(f)
	zw.Write([]byte("One dog.\nTwo cats!\n"))
	zw.Close()
	f.Close()
	ex, err := ReadExamples(src+":"+ref+":"+ref2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 2 || ex[0].Source != "Ein Hund." || !slices.Equal(ex[1].Refs, []string{"Two cats.", "Two cats!"}) || ex[1].Line != 2 {
		t.Errorf("examples %+v", ex)
	}
	short := write(t, dir, "short.en", "A dog.\n")
	blank := write(t, dir, "blank.en", "A dog.\n \n")
	for _, spec := range []string{src + ":" + short, src + ":" + blank, src, filepath.Join(dir, "nope") + ":" + ref, filepath.Join(dir, "missing.jsonl")} {
		if _, err := ReadExamples(spec, nil); err == nil {
			t.Errorf("%s: no error", spec)
		}
	}
}

func TestReadExamplesStructured(t *testing.T) {
	dir := t.TempDir()
	jl := write(t, dir, "d.jsonl", `{"dialogue": "#P1#: Hi.\n#P2#: Hello.", "summary1": "They greet.", "summary2": "Greetings."}`+"\n")
	ex, err := ReadExamples(jl, &ReadOptions{SourceField: "dialogue", RefFields: []string{"summary1", "summary2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 1 || !strings.HasPrefix(ex[0].Source, "#P1#: Hi.\n") || !slices.Equal(ex[0].Refs, []string{"They greet.", "Greetings."}) {
		t.Errorf("jsonl %+v", ex)
	}
	if _, err := ReadExamples(jl, &ReadOptions{SourceField: "dialogue", RefFields: []string{"summary3"}}); err == nil {
		t.Error("missing field: no error")
	}
	// AG News' layout: "class","title","description", no header.
	csv := write(t, dir, "n.csv", `"3","Fears for pension","Unions say they are disappointed."`+"\n")
	ex, err = ReadExamples(csv, &ReadOptions{SourceField: "2", RefFields: []string{"1"}})
	if err != nil || len(ex) != 1 || ex[0].Source != "Unions say they are disappointed." || ex[0].Refs[0] != "Fears for pension" {
		t.Errorf("csv %+v %v", ex, err)
	}
}

// The shared data sets load in the layouts the README's recipes use.
func TestReadSharedData(t *testing.T) {
	d := testenv.Shared(t, "data")
	mt, err := ReadExamples(filepath.Join(d, "multi30k", "test_2016_flickr.de.gz")+":"+filepath.Join(d, "multi30k", "test_2016_flickr.en.gz"), nil)
	if err != nil || len(mt) != 1000 {
		t.Fatalf("multi30k: %d examples, %v", len(mt), err)
	}
	ds, err := ReadExamples(filepath.Join(d, "dialogsum", "dialogsum.test.jsonl"),
		&ReadOptions{SourceField: "dialogue", RefFields: []string{"summary1", "summary2", "summary3"}})
	if err != nil || len(ds) != 500 || len(ds[0].Refs) != 3 {
		t.Fatalf("dialogsum: %d examples, %v", len(ds), err)
	}
	ag, err := ReadExamples(filepath.Join(d, "ag_news", "test.csv"), &ReadOptions{SourceField: "2", RefFields: []string{"1"}})
	if err != nil || len(ag) != 7600 {
		t.Fatalf("ag news: %d examples, %v", len(ag), err)
	}
}
