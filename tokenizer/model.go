// Package tokenizer turns text into token ids and back for Transformer
// language models: one Tokenizer type over pluggable vocabulary models
// (byte-level BPE in tokenizer/bpe, WordPiece in tokenizer/wordpiece,
// SentencePiece-style BPE in tokenizer/sentencepiece, SentencePiece Unigram
// in tokenizer/unigram), with the special-token
// templates, pairs, truncation, padding, attention masks and offsets that
// Hugging Face's tokenizers provide.
package tokenizer

// Token is one piece of tokenized text.
type Token struct {
	ID    int    // vocabulary id
	Text  string // the token as written in the vocabulary (e.g. "Ġthe", "##ing", "▁the")
	Start int    // byte offset of the first byte of the original text it covers
	End   int    // byte offset just past the last byte it covers (Start == End for inserted tokens)
}

// Model is a vocabulary model: it splits raw text into vocabulary tokens
// (normalization and pre-tokenization included) but adds no special tokens.
// Offsets in the returned tokens are byte offsets into text.
//
// Implementations are safe for concurrent use.
type Model interface {
	// Tokenize splits text into tokens. It never fails: text that the
	// vocabulary cannot represent becomes the model's unknown token (or bytes).
	Tokenize(text string) []Token
	// Decode turns ids back into text, as the reference implementation does
	// (e.g. byte-level BPE restores the exact bytes; WordPiece joins "##"
	// continuations). Unknown ids are an error.
	Decode(ids []int, skipSpecial bool) (string, error)
	// TokenToID looks up a token's id.
	TokenToID(token string) (int, bool)
	// IDToToken looks up an id's token.
	IDToToken(id int) (string, bool)
	// VocabSize is the number of ids, added special tokens included.
	VocabSize() int
}

// TextChecker is an optional interface of a Model that has no unknown token
// and so cannot represent every text (a character vocabulary): Tokenize
// leaves such characters out, and CheckText reports them. Tokenizer.Encode,
// EncodePair and the batch forms call it and return its error rather than
// an encoding with text silently missing.
type TextChecker interface {
	// CheckText returns an error naming the first part of text that the
	// vocabulary cannot represent, or nil.
	CheckText(text string) error
}

// TokenAppender is an optional interface of a Model: AppendTokens appends
// the tokens of text to dst (offsets into text) and returns the extended
// slice, so that a Tokenizer can reuse its buffers. It must give the same
// tokens as Tokenize.
type TokenAppender interface {
	// AppendTokens appends the tokens of text to dst and returns the
	// extended slice.
	AppendTokens(dst []Token, text string) []Token
}

// TokensDecoder is an optional interface of a Model: DecodeTokens joins
// tokens as written in the vocabulary into text, as Hugging Face's
// convert_tokens_to_string runs the decoder over token strings. Tokens
// outside the vocabulary (a word's original text standing in for the
// unknown token) are joined like the others.
type TokensDecoder interface {
	DecodeTokens(tokens []string) string
}
