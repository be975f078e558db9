package gguf

import "fmt"

// Tokenizer metadata keys (llama.cpp's names; "seperator" is spelt as
// llama.cpp spells it).
const (
	KeyTokenizerModel = "tokenizer.ggml.model"
	KeyTokenizerPre   = "tokenizer.ggml.pre"
	KeyTokens         = "tokenizer.ggml.tokens"
	KeyScores         = "tokenizer.ggml.scores"
	KeyTokenTypes     = "tokenizer.ggml.token_type"
	KeyMerges         = "tokenizer.ggml.merges"
	KeyBOSID          = "tokenizer.ggml.bos_token_id"
	KeyEOSID          = "tokenizer.ggml.eos_token_id"
	KeyUNKID          = "tokenizer.ggml.unknown_token_id"
	KeyPADID          = "tokenizer.ggml.padding_token_id"
	KeySEPID          = "tokenizer.ggml.seperator_token_id"
	KeyCLSID          = "tokenizer.ggml.cls_token_id"
	KeyMaskID         = "tokenizer.ggml.mask_token_id"
	KeyEOTID          = "tokenizer.ggml.eot_token_id"
	KeyAddBOS         = "tokenizer.ggml.add_bos_token"
	KeyAddEOS         = "tokenizer.ggml.add_eos_token"
	KeyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
	KeyChatTemplate   = "tokenizer.chat_template"
)

// TokenType is the kind of a vocabulary entry (llama_token_type, stored in
// tokenizer.ggml.token_type).
type TokenType int32

// The token types, numbered as llama.cpp numbers them.
const (
	TokenUndefined   TokenType = 0
	TokenNormal      TokenType = 1
	TokenUnknown     TokenType = 2
	TokenControl     TokenType = 3
	TokenUserDefined TokenType = 4
	TokenUnused      TokenType = 5
	TokenByte        TokenType = 6 // a <0xNN> byte-fallback piece
)

// Tokenizer is the vocabulary a GGUF file carries, as stored: enough to build
// a tokenizer without this package interpreting it. Ids are -1 when the file
// names none (or names one outside the vocabulary, which llama.cpp also
// ignores).
type Tokenizer struct {
	// Model is tokenizer.ggml.model: "llama" (SentencePiece BPE with scores
	// and byte fallback), "gpt2" (byte-level BPE with merges), "bert"
	// (WordPiece), "t5" (SentencePiece unigram), …
	Model string
	// Pre is tokenizer.ggml.pre, the pre-tokenizer of a "gpt2" model
	// ("llama-bpe", "qwen2", …); "" when absent.
	Pre    string
	Tokens []string // the pieces, by id; SentencePiece writes a space as U+2581 (▁)
	// Scores holds one score per token (SentencePiece merge priorities or
	// unigram log-probabilities); nil when absent.
	Scores []float32
	// Types holds one TokenType per token; nil when absent.
	Types []TokenType
	// Merges lists the BPE merges of a "gpt2" model, each "left right", in
	// priority order; nil when absent.
	Merges []string

	BOS, EOS, UNK, PAD, SEP, CLS, Mask, EOT int

	// AddBOS and AddEOS are tokenizer.ggml.add_bos_token / add_eos_token;
	// nil when the file leaves them to the model type's default.
	AddBOS, AddEOS *bool
	// AddSpacePrefix is tokenizer.ggml.add_space_prefix; nil when absent.
	AddSpacePrefix *bool
	// ChatTemplate is tokenizer.chat_template (a Jinja template); "" when
	// absent.
	ChatTemplate string
}

// Tokenizer reads the vocabulary from the tokenizer.* metadata. It fails,
// matching ErrMissingKey, if tokenizer.ggml.model or tokenizer.ggml.tokens
// is missing, and with an error matching checkpoint.ErrFormat if a key has
// the wrong type or the scores or token types do not have one entry per
// token.
func (f *File) Tokenizer() (*Tokenizer, error) {
	fail := func(key string, err error) (*Tokenizer, error) {
		return nil, &Error{File: f.path, Key: key, Err: err}
	}
	tk := &Tokenizer{}
	var err error
	if tk.Model, err = f.needString(KeyTokenizerModel); err != nil {
		return fail(KeyTokenizerModel, err)
	}
	if tk.Pre, _, err = f.optString(KeyTokenizerPre); err != nil {
		return fail(KeyTokenizerPre, err)
	}
	if tk.ChatTemplate, _, err = f.optString(KeyChatTemplate); err != nil {
		return fail(KeyChatTemplate, err)
	}
	v, ok := f.Value(KeyTokens)
	if !ok {
		return fail(KeyTokens, ErrMissingKey)
	}
	if tk.Tokens, ok = v.Strings(); !ok {
		return fail(KeyTokens, wrongType(v, "an array of strings"))
	}
	n := len(tk.Tokens)
	if v, ok := f.Value(KeyScores); ok {
		scores, ok := v.float32s()
		if !ok {
			return fail(KeyScores, wrongType(v, "an array of FLOAT32"))
		}
		if len(scores) != n {
			return fail(KeyScores, formatf("%d scores for %d tokens", len(scores), n))
		}
		tk.Scores = append([]float32(nil), scores...)
	}
	if v, ok := f.Value(KeyTokenTypes); ok {
		ids, ok := v.Ints()
		if !ok || v.elem != TypeInt32 && v.elem != TypeUint32 {
			return fail(KeyTokenTypes, wrongType(v, "an array of INT32"))
		}
		if len(ids) != n {
			return fail(KeyTokenTypes, formatf("%d token types for %d tokens", len(ids), n))
		}
		tk.Types = make([]TokenType, n)
		for i, t := range ids {
			tk.Types[i] = TokenType(t)
		}
	}
	if v, ok := f.Value(KeyMerges); ok {
		if tk.Merges, ok = v.Strings(); !ok {
			return fail(KeyMerges, wrongType(v, "an array of strings"))
		}
	}
	for _, id := range []struct {
		key string
		dst *int
	}{{KeyBOSID, &tk.BOS}, {KeyEOSID, &tk.EOS}, {KeyUNKID, &tk.UNK}, {KeyPADID, &tk.PAD},
		{KeySEPID, &tk.SEP}, {KeyCLSID, &tk.CLS}, {KeyMaskID, &tk.Mask}, {KeyEOTID, &tk.EOT}} {
		*id.dst = -1
		v, ok := f.Value(id.key)
		if !ok {
			continue
		}
		x, ok := v.Int()
		if !ok {
			return fail(id.key, wrongType(v, "an integer"))
		}
		if x >= 0 && x < int64(n) {
			*id.dst = int(x)
		}
	}
	for _, b := range []struct {
		key string
		dst **bool
	}{{KeyAddBOS, &tk.AddBOS}, {KeyAddEOS, &tk.AddEOS}, {KeyAddSpacePrefix, &tk.AddSpacePrefix}} {
		v, ok := f.Value(b.key)
		if !ok {
			continue
		}
		x, ok := v.Bool()
		if !ok {
			return fail(b.key, wrongType(v, "a BOOL"))
		}
		*b.dst = &x
	}
	return tk, nil
}

// wrongType describes a value of an unexpected type.
func wrongType(v Value, want string) error {
	if elem, ok := v.ArrayType(); ok {
		return formatf("array of %v, want %s", elem, want)
	}
	return formatf("type %v, want %s", v.Type(), want)
}

// needString returns a required STRING value.
func (f *File) needString(key string) (string, error) {
	s, ok, err := f.optString(key)
	if err == nil && !ok {
		err = ErrMissingKey
	}
	return s, err
}

// optString returns an optional STRING value; ok is false when absent, err
// set when present with another type.
func (f *File) optString(key string) (s string, ok bool, err error) {
	v, ok := f.Value(key)
	if !ok {
		return "", false, nil
	}
	if s, ok = v.Text(); !ok {
		return "", false, wrongType(v, "a STRING")
	}
	return s, true, nil
}

// String summarizes the vocabulary ("llama tokenizer, 512 tokens").
func (t *Tokenizer) String() string {
	return fmt.Sprintf("%s tokenizer, %d tokens", t.Model, len(t.Tokens))
}
