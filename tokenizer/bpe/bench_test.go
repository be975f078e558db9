package bpe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

func benchText(b *testing.B) string {
	data, err := os.ReadFile(testenv.Shared(b, "data", "tinyshakespeare", "input.txt"))
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

func BenchmarkEncode(b *testing.B) {
	m := loadGPT2(b)
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		m.Encode(text)
	}
}

func BenchmarkEncodeNoCache(b *testing.B) {
	dir := testenv.Shared(b, "tokenizers", "gpt2")
	enc, _ := os.ReadFile(filepath.Join(dir, "encoder.json"))
	mer, _ := os.ReadFile(filepath.Join(dir, "vocab.bpe"))
	vocab, _ := ParseEncoderJSON(enc)
	merges, _ := ParseMerges(mer)
	m, err := New(vocab, merges, Options{CacheSize: -1})
	if err != nil {
		b.Fatal(err)
	}
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		m.Encode(text)
	}
}

func BenchmarkTokenize(b *testing.B) {
	m := loadGPT2(b)
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		m.Tokenize(text)
	}
}

func BenchmarkEncodeBatch(b *testing.B) {
	m := loadGPT2(b)
	texts := strings.SplitAfter(benchText(b), "\n\n")
	n := 0
	for _, t := range texts {
		n += len(t)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		m.EncodeBatch(texts)
	}
}

func BenchmarkPretokens(b *testing.B) {
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		for range Pretokens(text) {
		}
	}
}

func BenchmarkLoadFiles(b *testing.B) {
	dir := testenv.Shared(b, "tokenizers", "gpt2")
	for b.Loop() {
		if _, err := LoadFiles(filepath.Join(dir, "encoder.json"), filepath.Join(dir, "vocab.bpe")); err != nil {
			b.Fatal(err)
		}
	}
}
