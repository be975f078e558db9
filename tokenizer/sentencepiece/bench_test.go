package sentencepiece

import (
	"os"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

func benchEncode(b *testing.B, m *Model) {
	data, err := os.ReadFile(testenv.Shared(b, "data", "tinyshakespeare", "input.txt"))
	if err != nil {
		b.Fatal(err)
	}
	text := string(data[:200000])
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		m.Encode(text, true, false)
	}
}

func BenchmarkEncodeLlama2C(b *testing.B) {
	c, _ := loadLlama2(b)
	benchEncode(b, c)
}

func BenchmarkEncodeHF(b *testing.B) {
	_, hf := loadLlama2(b)
	benchEncode(b, hf)
}

func BenchmarkEncodeModelProto(b *testing.B) {
	m, err := LoadModel(testenv.Shared(b, "tokenizers", "llama2", "tokenizer.model"))
	if err != nil {
		b.Fatal(err)
	}
	benchEncode(b, m)
}
