package unigram

import (
	"bytes"
	"strings"
	"testing"
)

func benchText(b *testing.B) string {
	return strings.Join(multi30kLines(b, 2000), "\n")
}

func benchEncode(b *testing.B, m *Model, text string) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var toks = m.AppendTokens(nil, text)
	for b.Loop() {
		toks = m.AppendTokens(toks[:0], text)
	}
}

// BenchmarkEncode/spm: the multi30k .model on 4,000 Multi30k sentences as
// one text; /hf: the same model as tokenizer.json.
func BenchmarkEncode(b *testing.B) {
	m := loadMulti30k(b)
	text := benchText(b)
	b.Run("spm", func(b *testing.B) { benchEncode(b, m, text) })
	var buf bytes.Buffer
	if err := m.WriteTokenizerJSON(&buf); err != nil {
		b.Fatal(err)
	}
	hf, err := FromTokenizerJSON(buf.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("hf", func(b *testing.B) { benchEncode(b, hf, text) })
	lines := strings.Split(text, "\n")
	b.Run("spm/lines", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			for _, l := range lines {
				m.Tokenize(l)
			}
		}
	})
}
