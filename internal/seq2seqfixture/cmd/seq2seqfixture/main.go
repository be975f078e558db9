// Command seq2seqfixture writes one of the shared folder's tiny
// encoder-decoder fixtures as a Hub-style model folder with its tokenizer
// (seq2seqfixture.Folder), for tests outside Go: serve/e2e serves the
// folder it writes.
//
//	GLOSSA_SHARED=../shared go run ./internal/seq2seqfixture/cmd/seq2seqfixture marian-tiny OUT_DIR
package main

import (
	"fmt"
	"os"

	"github.com/glossa-ai/glossa/internal/seq2seqfixture"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: seq2seqfixture FIXTURE OUT_DIR (FIXTURE: marian-tiny, t5-tiny or bart-tiny)")
		os.Exit(2)
	}
	if err := os.MkdirAll(os.Args[2], 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "seq2seqfixture:", err)
		os.Exit(1)
	}
	if err := seq2seqfixture.Folder(os.Args[2], os.Args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, "seq2seqfixture:", err)
		os.Exit(1)
	}
}
