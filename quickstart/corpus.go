package quickstart

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/data"
	"github.com/glossa-ai/glossa/internal/atomicfile"
)

// Classes are the package trees of the classification task: a doc
// comment's label is the top-level folder of $GOROOT/src it comes from.
var Classes = []string{"crypto", "go", "net", "runtime"}

// FindGoroot returns the Go installation: $GOROOT, "go env GOROOT", or the
// one this binary was built with.
func FindGoroot(ctx context.Context) (string, error) {
	var cands []string
	if r := os.Getenv("GOROOT"); r != "" {
		cands = append(cands, r)
	}
	if b, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output(); err == nil {
		cands = append(cands, strings.TrimSpace(string(b)))
	}
	cands = append(cands, runtime.GOROOT()) //nolint:staticcheck // last resort: the build-time GOROOT
	for _, r := range cands {
		if st, err := os.Stat(filepath.Join(r, "src", "runtime")); r != "" && err == nil && st.IsDir() {
			return r, nil
		}
	}
	return "", fmt.Errorf("no Go installation with sources found (tried %q): give --goroot", cands)
}

// Doc is one documentation comment.
type Doc struct {
	Tree string // top-level package tree: "net", "crypto", ...
	Raw  string // the comment on one line, "// " first
	Text string // the comment as prose, one paragraph per line
}

// Corpus is the documentation comments of a Go source tree.
type Corpus struct {
	Docs                 []Doc
	Files, Trees         int // source files read, trees with comments
	ProseBytes, RawBytes int // sizes of the prose and raw renderings
}

// CollectGodoc walks src in lexical order and collects the // comment blocks
// directly preceding top-level declarations of non-test .go files, skipping
// testdata and vendor folders, at most perTree prose bytes per top-level
// tree and total bytes overall.
func CollectGodoc(src string, total, perTree int) (*Corpus, error) {
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, fmt.Errorf("quickstart: %w", err)
	}
	// The classification trees first, so that small budgets still cover them.
	trees := slices.Clone(Classes)
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(trees, e.Name()) && e.Name() != "testdata" && e.Name() != "vendor" {
			trees = append(trees, e.Name())
		}
	}
	c := &Corpus{}
	for _, tree := range trees {
		if c.ProseBytes >= total {
			break
		}
		if err := c.collectTree(filepath.Join(src, tree), tree, min(perTree, total-c.ProseBytes)); err != nil {
			return nil, fmt.Errorf("quickstart: reading %s: %w", src, err)
		}
	}
	if len(c.Docs) == 0 {
		return nil, fmt.Errorf("quickstart: no doc comments under %s", src)
	}
	return c, nil
}

// collectTree adds the doc comments of one top-level tree, at most limit
// prose bytes.
func (c *Corpus) collectTree(root, tree string, limit int) error {
	n := 0
	found := false
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case n >= limit:
			return filepath.SkipAll
		case d.IsDir():
			if name := d.Name(); p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		case !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go"):
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		c.Files++
		for _, doc := range ExtractGodoc(b) {
			if n >= limit {
				break
			}
			doc.Tree = tree
			c.Docs = append(c.Docs, doc)
			found = true
			n += len(doc.Text) + 2
			c.ProseBytes += len(doc.Text) + 2
			c.RawBytes += len(doc.Raw) + 2
		}
		return nil
	})
	if found {
		c.Trees++
	}
	return err
}

// declPrefixes start the top-level declarations whose doc comments are kept.
var declPrefixes = []string{"func ", "type ", "var ", "const ", "package "}

// ExtractGodoc returns the doc comments of the top-level declarations in a
// Go source file: runs of "//" lines (directives such as //go: excluded)
// immediately followed by an unindented declaration.
func ExtractGodoc(src []byte) []Doc {
	var docs []Doc
	var block []string
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "//") {
			if isDirective(line) {
				continue
			}
			block = append(block, line)
			continue
		}
		if len(block) > 0 && slices.ContainsFunc(declPrefixes, func(p string) bool { return strings.HasPrefix(line, p) }) {
			if d, ok := makeGodoc(block); ok {
				docs = append(docs, d)
			}
		}
		block = block[:0]
	}
	return docs
}

// isDirective reports whether a comment line is a tool directive
// (//go:build, //go:linkname, //export, //line, //nolint ...).
func isDirective(line string) bool {
	rest := line[2:]
	if rest == "" || rest[0] == ' ' || rest[0] == '\t' {
		return false
	}
	return true
}

// makeGodoc builds a document from the comment lines of a declaration;
// very short comments, licence headers and generated-code notices are dropped.
func makeGodoc(block []string) (Doc, bool) {
	var paras []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, " "))
			cur = cur[:0]
		}
	}
	for _, l := range block {
		t := strings.TrimSpace(strings.TrimPrefix(l, "//"))
		if t == "" {
			flush()
			continue
		}
		if strings.HasPrefix(strings.TrimPrefix(l, "//"), "\t") || strings.HasPrefix(l, "//   ") {
			continue // code sample inside the comment
		}
		cur = append(cur, t)
	}
	flush()
	text := strings.Join(paras, "\n")
	if len(text) < 40 || strings.HasPrefix(text, "Copyright") || strings.HasPrefix(text, "Code generated") {
		return Doc{}, false
	}
	// The causal-LM corpus keeps one comment per line: the packed token
	// files of "glossa pretrain --objective clm" drop line breaks.
	raw := "// " + strings.Join(paras, " ")
	return Doc{Raw: raw, Text: text}, true
}

// Split is the labelled classification data written by WriteFiles, in
// memory as data.Examples (Text and Label).
type Split struct {
	Train, Dev []data.Example
	PerClass   int // examples per class, train and dev together
}

// WriteFiles writes, atomically, prose.txt (one document per comment,
// blank-line separated, for WordPiece and BERT), godoc.txt (one "// "
// comment line per comment, for BPE and GPT-2) and the balanced
// classification split classify-train.jsonl / classify-dev.jsonl (every
// fifth example of each class to dev; "glossa finetune" reads them), and
// returns that split.
func (c *Corpus) WriteFiles(dir string, perClass int) (*Split, error) {
	var prose, raw bytes.Buffer
	byClass := map[string][]string{}
	for _, d := range c.Docs {
		prose.WriteString(d.Text)
		prose.WriteString("\n\n")
		raw.WriteString(d.Raw)
		raw.WriteString("\n\n")
		if slices.Contains(Classes, d.Tree) {
			// One line of prose: the classifier sees its first tokens anyway.
			byClass[d.Tree] = append(byClass[d.Tree], strings.ReplaceAll(d.Text, "\n", " "))
		}
	}
	n := perClass
	for _, cl := range Classes {
		n = min(n, len(byClass[cl]))
	}
	if n < 10 {
		return nil, fmt.Errorf("quickstart: only %d doc comments in the smallest of the trees %v; need 10", n, Classes)
	}
	sp := &Split{PerClass: n}
	var trainBuf, devBuf bytes.Buffer
	// Interleave the classes so that any prefix of the file is balanced.
	for i := range n {
		for _, cl := range Classes {
			docs := byClass[cl]
			// Spread the picks over the whole tree rather than its first files.
			text := docs[i*len(docs)/n]
			line, err := json.Marshal(map[string]string{"text": text, "label": cl})
			if err != nil {
				return nil, err
			}
			w, set := &trainBuf, &sp.Train
			if i%5 == 4 {
				w, set = &devBuf, &sp.Dev
			}
			*set = append(*set, data.Example{Text: text, Label: cl, Line: len(*set) + 1})
			w.Write(line)
			w.WriteByte('\n')
		}
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"prose.txt", prose.Bytes()}, {"godoc.txt", raw.Bytes()}, {"classify-train.jsonl", trainBuf.Bytes()},
		{"classify-dev.jsonl", devBuf.Bytes()}} {
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), f.b); err != nil {
			return nil, fmt.Errorf("quickstart: %w", err)
		}
	}
	return sp, nil
}
