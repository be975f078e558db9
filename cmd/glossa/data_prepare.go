package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/tokenizer/auto"
)

// runData implements "glossa data": corpus preparation tools.
func runData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "Usage: glossa data prepare --tokenizer PATH [flags] CORPUS...   tokenize a corpus into a cached packed token file")
		fmt.Fprintln(w, "       glossa data inspect [--tokenizer PATH] [--n N] FILE.tok   show a packed token file")
		fmt.Fprintln(w, "       glossa data text [column flags] [--out FILE] FILE...        labelled TSV/CSV/JSONL texts as a plain-text corpus")
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	switch args[0] {
	case "prepare":
		return runDataPrepare(ctx, args[1:], stdout, stderr)
	case "inspect":
		return runDataInspect(args[1:], stdout, stderr)
	case "text":
		return runDataText(ctx, args[1:], stdout, stderr)
	}
	usage(stderr)
	return fmt.Errorf("%w: unknown data command %q", errUsage, args[0])
}

// tokenizerFiles are the files whose bytes identify a tokenizer folder.
var tokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "vocab.txt", "encoder.json",
	"vocab.bpe", "vocab.json", "merges.txt", "tokenizer.model", "tokenizer.bin", "special_tokens_map.json", "char_vocab.json"}

// tokenizerIdentity returns the bytes that identify the tokenizer at path
// for the token cache: the file itself, or the known tokenizer files of a
// folder, each prefixed by its name.
func tokenizerIdentity(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return os.ReadFile(path)
	}
	var id []byte
	for _, name := range tokenizerFiles {
		b, err := os.ReadFile(filepath.Join(path, name))
		if err != nil {
			continue
		}
		id = append(id, name...)
		id = append(id, 0)
		id = append(id, b...)
	}
	return id, nil
}

func runDataPrepare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data prepare", stderr)
	tokPath := fs.String("tokenizer", "", "tokenizer folder or file (required)")
	docs := fs.String("docs", "blank-line", "how lines group into documents: blank-line (blank lines separate documents), file (one document per file), line (one per line)")
	sentences := fs.Bool("sentences", false, "split lines into sentences (one segment each; needed for BERT next-sentence pairs on paragraph text)")
	newlines := fs.Bool("keep-newlines", false, "append \"\\n\" to every line and keep blank lines (with --docs file), for character-level language models")
	cache := fs.String("cache", "", "cache folder for packed token files (default: the user cache folder/glossa/tokens)")
	maxLine := fs.Int("max-line-bytes", data.DefaultMaxLineBytes, "longest accepted line in bytes")
	skipLong := fs.Bool("skip-long-lines", false, "skip and count lines longer than --max-line-bytes instead of failing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glossa data prepare --tokenizer PATH [flags] CORPUS...")
		fmt.Fprintln(stderr, "\nCORPUS is a file, a folder (read recursively) or a glob pattern; .gz files are decompressed.")
		fmt.Fprintln(stderr, "The result is cached: a second run with the same corpus files and tokenizer returns at once.")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if *tokPath == "" {
		return fmt.Errorf("%w: --tokenizer is required", errUsage)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: no corpus given", errUsage)
	}
	mode, err := data.ParseDocMode(*docs)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	tok, err := auto.Load(*tokPath)
	if err != nil {
		return err
	}
	id, err := tokenizerIdentity(*tokPath)
	if err != nil {
		return err
	}
	corpus, err := data.OpenCorpus(fs.Args()...)
	if err != nil {
		return err
	}
	corpus.MaxLineBytes, corpus.SkipLongLines = *maxLine, *skipLong
	start := time.Now()
	f, st, err := data.BuildTokenFile(ctx, corpus, data.TokenizerEncoder(tok), data.TokenizeOptions{
		Docs: mode, Sentences: *sentences, KeepNewlines: *newlines, VocabSize: tok.VocabSize(),
		TokenizerID: id, CacheDir: *cache})
	if err != nil {
		return err
	}
	defer f.Close()
	el := time.Since(start)
	fmt.Fprintf(stdout, "%s\n", st.Path)
	fmt.Fprintf(stdout, "files %d  documents %d  segments %d  tokens %d  cached %v  %.2fs",
		len(corpus.Files), st.Docs, st.Segments, st.Tokens, st.Cached, el.Seconds())
	if !st.Cached && el > 0 {
		fmt.Fprintf(stdout, "  lines %d  skipped-long %d  (%.0f tokens/s, %.1f MB/s)", st.Scan.Lines, st.Scan.SkippedLong,
			float64(st.Tokens)/el.Seconds(), float64(st.Scan.Bytes)/1e6/el.Seconds())
	}
	fmt.Fprintln(stdout)
	return nil
}

func runDataInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data inspect", stderr)
	tokPath := fs.String("tokenizer", "", "tokenizer to decode the first segments with (optional)")
	n := fs.Int("n", 3, "number of segments to show")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glossa data inspect [--tokenizer PATH] [--n N] FILE.tok")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want one packed token file", errUsage)
	}
	f, err := data.OpenTokenFile(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(stdout, "tokens %d  segments %d  documents %d  vocabulary %d  key %x\n",
		f.Len(), f.NumSegments(), f.NumDocs(), f.VocabSize(), f.Key())
	var decode func([]int, bool) (string, error)
	if *tokPath != "" {
		tok, err := auto.Load(*tokPath)
		if err != nil {
			return err
		}
		decode = tok.Decode
	}
	for s := range min(*n, f.NumSegments()) {
		lo, hi := f.Segment(s)
		ids := make([]int32, hi-lo)
		f.Read(ids, lo)
		if decode == nil {
			fmt.Fprintf(stdout, "segment %d: %v\n", s, ids)
			continue
		}
		in := make([]int, len(ids))
		for i, v := range ids {
			in[i] = int(v)
		}
		text, err := decode(in, false)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "segment %d: %q\n", s, text)
	}
	return nil
}
