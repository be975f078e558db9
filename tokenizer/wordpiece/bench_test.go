package wordpiece_test

import (
	"os"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// BenchmarkTokenize measures WordPiece throughput (bytes of text per
// second) with bert-base-uncased on tiny Shakespeare (1.1 MB, English) and
// with bert-base-chinese on ChnSentiCorp reviews (Chinese):
//
//   - model: Model.Tokenize on the whole text as one string, one goroutine;
//   - encode: Tokenizer.Encode (added-token matching, template), one string;
//   - lines: Tokenizer.Encode on each line in turn;
//   - batch: Tokenizer.EncodeBatch on the text's lines, GOMAXPROCS workers
//     (run with -cpu 1,2).
func BenchmarkTokenize(b *testing.B) {
	for _, c := range []struct {
		name, vocab string
		path        []string
	}{
		{"en", "bert-base-uncased", []string{"data", "tinyshakespeare", "input.txt"}},
		{"zh", "bert-base-chinese", []string{"data", "chnsenticorp", "train.tsv"}},
	} {
		data, err := os.ReadFile(testenv.Shared(b, c.path...))
		if err != nil {
			b.Fatal(err)
		}
		text := string(data)
		lines := strings.Split(text, "\n")
		tok := loadJSON(b, testenv.Shared(b, "tokenizers", c.vocab))
		b.Run(c.name+"/model", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				tok.Model().Tokenize(text)
			}
		})
		b.Run(c.name+"/encode", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tok.Encode(text); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/lines", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				for _, l := range lines {
					if _, err := tok.Encode(l); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(c.name+"/batch", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tok.EncodeBatch(lines); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
