package data_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/glossa-ai/glossa/data"
)

// Tokenise a small corpus into a cached packed token file and cut it into
// causal-LM blocks. The encoder here maps bytes to ids; a real run passes
// data.TokenizerEncoder(tok).
func ExampleBuildTokenFile() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("To be, or not to be.\nThat is the question.\n"), 0o644)

	bytesEnc := data.EncoderFunc(func(s string) ([]int, error) {
		ids := make([]int, len(s))
		for i := range len(s) {
			ids[i] = int(s[i])
		}
		return ids, nil
	})
	corpus, err := data.OpenCorpus(filepath.Join(dir, "*.txt"))
	if err != nil {
		panic(err)
	}
	opts := data.TokenizeOptions{Docs: data.DocFile, KeepNewlines: true, VocabSize: 256,
		TokenizerID: []byte("bytes"), CacheDir: filepath.Join(dir, "cache")}
	for range 2 {
		f, st, err := data.BuildTokenFile(context.Background(), corpus, bytesEnc, opts)
		if err != nil {
			panic(err)
		}
		fmt.Printf("cached=%v tokens=%d segments=%d docs=%d\n", st.Cached, f.Len(), f.NumSegments(), f.NumDocs())
		f.Close()
	}
	f, _, _ := data.BuildTokenFile(context.Background(), corpus, bytesEnc, opts)
	defer f.Close()
	s, err := data.NewBlockSampler(f, 8, 1)
	if err != nil {
		panic(err)
	}
	block := make([]int32, 8+1)
	s.Next(block)
	fmt.Println(len(block), s.BlocksPerEpoch() > 0)
	// Output:
	// cached=false tokens=43 segments=2 docs=1
	// cached=true tokens=43 segments=2 docs=1
	// 9 true
}

// Read labelled data, map labels to ids, and split off a validation set.
func ExampleReadLabeled() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.tsv")
	os.WriteFile(path, []byte("sentence\tlabel\ngreat fun\t1\ndull\t0\nlovely\t1\nno tab\nawful\t0\n"), 0o644)

	d, err := data.ReadLabeled(path, data.LabeledOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(d.Examples), "examples;", d.Skipped, "skipped:", d.SkipReasons[0])
	labels, _ := data.NewLabelMap(d.Examples)
	ids, _ := labels.IDs(d)
	fmt.Println(labels.Labels(), ids)
	train, val, _ := data.SplitTrainVal(d.Examples, 0.25, 42)
	fmt.Println(len(train), len(val))
	// Output:
	// 4 examples; 1 skipped: line 5: 1 fields, need at least 2
	// [0 1] [1 0 1 0]
	// 3 1
}

// Split text into sentences, Latin and CJK.
func ExampleSplitSentences() {
	for _, s := range data.SplitSentences("Dr. Watson came in. 他走了。然后呢？") {
		fmt.Println(strings.TrimSpace(s))
	}
	// Output:
	// Dr. Watson came in.
	// 他走了。
	// 然后呢？
}
