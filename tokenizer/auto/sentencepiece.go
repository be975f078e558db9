package auto

import (
	"fmt"

	"github.com/glossa-ai/glossa/tokenizer"
)

// The SentencePiece loaders wait for package tokenizer/sentencepiece.

func sentencePieceFromJSON(data []byte) (tokenizer.Model, error) {
	return nil, fmt.Errorf("auto: SentencePiece-style BPE tokenizer.json: %w", errNotAvailable)
}

func loadSentencePieceModel(path string) (*tokenizer.Tokenizer, error) {
	return nil, fmt.Errorf("auto: %s: SentencePiece tokenizer.model: %w", path, errNotAvailable)
}

func loadLlama2C(path string) (*tokenizer.Tokenizer, error) {
	return nil, fmt.Errorf("auto: %s: llama2.c tokenizer.bin: %w", path, errNotAvailable)
}
