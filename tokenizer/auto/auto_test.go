package auto_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/auto"
	"github.com/glossa-ai/glossa/tokenizer/char"
)

func TestLoad(t *testing.T) {
	shared := testenv.Shared(t, "tokenizers")
	gpt2Plain := []int{15496, 27, 91, 437, 1659, 5239, 91, 29, 10603}
	for _, tc := range []struct {
		path, text string
		want       []int
		plain      []int // with SpecialAsText, when it differs
	}{
		{"bert-base-uncased", "Hello, world!", []int{101, 7592, 1010, 2088, 999, 102}, nil},
		{"bert-base-uncased/tokenizer.json", "Hello, world!", []int{101, 7592, 1010, 2088, 999, 102}, nil},
		{"bert-base-uncased/vocab.txt", "Hello, [MASK]!", []int{101, 7592, 1010, 103, 999, 102},
			[]int{101, 7592, 1010, 1031, 7308, 1033, 999, 102}},
		{"bert-base-chinese", "你好", []int{101, 872, 1962, 102}, nil},
		{"bert-base-chinese/vocab.txt", "你好", []int{101, 872, 1962, 102}, nil},
		{"gpt2", "Hello<|endoftext|>World", []int{15496, 50256, 10603}, gpt2Plain},
		{"gpt2/encoder.json", "Hello<|endoftext|>World", []int{15496, 50256, 10603}, gpt2Plain},
		{"gpt2/vocab.bpe", "Hello<|endoftext|>World", []int{15496, 50256, 10603}, gpt2Plain},
		{"llama2/tokenizer.bin", "Hello, world!", []int{1, 15043, 29892, 3186, 29991}, nil},
		{"llama2/tokenizer.model", "Hello, world!", []int{1, 15043, 29892, 3186, 29991}, nil},
		{"llama2", "Hello world</s>", []int{1, 15043, 3186, 2}, nil},
		{"../models/stories260K/tok512.bin", "Once upon a time", []int{1, 403, 407, 261, 378}, nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			tok, err := auto.Load(filepath.Join(shared, tc.path))
			if err != nil {
				t.Fatal(err)
			}
			enc, err := tok.Encode(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(enc.IDs, tc.want) {
				t.Errorf("Encode(%q) = %v, want %v", tc.text, enc.IDs, tc.want)
			}
			if tc.plain == nil {
				return
			}
			plain, err := tok.WithOptions(tokenizer.Options{SpecialAsText: true})
			if err != nil {
				t.Fatal(err)
			}
			enc, _ = plain.Encode(tc.text)
			if !slices.Equal(enc.IDs, tc.plain) {
				t.Errorf("SpecialAsText: Encode(%q) = %v, want %v", tc.text, enc.IDs, tc.plain)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"empty dir", t.TempDir(), "has no tokenizer.json"},
		{"bad json", write("bad.json", "{"), "auto: tokenizer.json"},
		{"no model", write("nomodel.json", "{}"), "no model section"},
		{"unigram", write("uni.json", `{"model":{"type":"Unigram"}}`), `unigram: tokenizer.json: empty vocabulary`},
		{"unknown type", write("wl.json", `{"model":{"type":"WordLevel"}}`), `unsupported model type "WordLevel"`},
		{"vocab without unk", write("vocab.txt", "a\nb\n"), `"[UNK]" is not in the vocabulary`},
		{"unknown ext", write("x.dat", ""), "unrecognised tokenizer file"},
		{"lone encoder", write("encoder.json", "{}"), "no vocab.bpe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auto.Load(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load(%s) error = %v, want it to contain %q", tc.path, err, tc.want)
			}
		})
	}
}

// FuzzFromTokenizerJSON: any tokenizer.json gives a tokenizer or an error,
// and a tokenizer it gives encodes and decodes without panicking.
func FuzzFromTokenizerJSON(f *testing.F) {
	f.Add(`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1,"##b":2}},"normalizer":{"type":"BertNormalizer"},"pre_tokenizer":{"type":"BertPreTokenizer"},` +
		`"post_processor":{"type":"BertProcessing","sep":["[SEP]",2],"cls":["[CLS]",1]}}`)
	f.Add(`{"model":{"vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"ByteLevel"},"added_tokens":[{"id":3,"content":"<x>","special":true}]}`)
	f.Add(`{"model":{"type":"BPE","byte_fallback":true,"vocab":{"<unk>":0,"▁a":1},"merges":[]},"decoder":{"type":"Metaspace"}}`)
	f.Fuzz(func(t *testing.T, data string) {
		tok, err := auto.FromTokenizerJSON([]byte(data))
		if err != nil {
			return
		}
		e, err := tok.EncodePair("ab <x> a\u00e9", "b")
		if err != nil {
			return
		}
		tok.Decode(e.IDs, true)
	})
}

// A character model's folder (glossa pretrain --tokenizer char) loads by
// its char_vocab.json, as a folder and as the file.
func TestLoadChar(t *testing.T) {
	dir := t.TempDir()
	m, err := char.FromRunes([]rune("abc \n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, char.VocabFile)} {
		tok, err := auto.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := tok.Encode("cab a\n")
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{4, 2, 3, 1, 2, 0}; !slices.Equal(enc.IDs, want) {
			t.Errorf("%s: ids %v, want %v", p, enc.IDs, want)
		}
		if s, err := tok.Decode(enc.IDs, true); err != nil || s != "cab a\n" {
			t.Errorf("%s: decode %q, %v", p, s, err)
		}
	}
}
