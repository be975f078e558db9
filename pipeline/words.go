package pipeline

import (
	"strings"

	"github.com/glossa-ai/glossa/tokenizer"
	"github.com/glossa-ai/glossa/tokenizer/bpe"
	"github.com/glossa-ai/glossa/tokenizer/sentencepiece"
	"github.com/glossa-ai/glossa/tokenizer/unigram"
	"github.com/glossa-ai/glossa/tokenizer/wordpiece"
)

// wordIDs numbers the words of an encoding as Hugging Face tokenizers'
// word_ids do — which pre-tokenizer word each token comes from, counted
// per input text — or -1 for inserted tokens. Glossa's tokenizers do not
// record words, so they are read off the tokens by the rule of each
// model: a WordPiece continuation ("##…") extends the word before it; a
// byte-level BPE token belongs to the GPT-2 pre-token its offset falls in;
// a SentencePiece piece starting with "▁" starts a word; with any other
// model each token is a word. texts are the encoding's input texts.
func wordIDs(tok *tokenizer.Tokenizer, e *tokenizer.Encoding, texts ...string) []int {
	ids := make([]int, e.Len())
	word, prevSeq := -1, -1
	var chunks [2][]int // byte-level BPE: the pre-token index of each byte, per text
	model := tok.Model()
	for t := range ids {
		seq := e.SequenceIDs[t]
		if seq < 0 || seq >= len(texts) || e.SpecialTokensMask[t] == 1 {
			ids[t] = -1
			continue
		}
		if seq != prevSeq {
			word, prevSeq = -1, seq
		}
		text, start := e.Tokens[t], e.Offsets[t][0]
		newWord := true
		if word >= 0 && t > 0 && e.SequenceIDs[t-1] == seq {
			switch m := model.(type) {
			case *wordpiece.Model:
				prefix := m.Options().Prefix
				if prefix == "" {
					prefix = "##"
				}
				newWord = !strings.HasPrefix(text, prefix)
			case *bpe.Model:
				if chunks[seq] == nil {
					chunks[seq] = pretokenIndex(texts[seq])
				}
				c := chunks[seq]
				newWord = start >= len(c) || e.Offsets[t-1][0] >= len(c) || c[start] != c[e.Offsets[t-1][0]]
			case *sentencepiece.Model, *unigram.Model:
				newWord = strings.HasPrefix(text, "▁")
			}
		}
		if newWord {
			word++
		}
		ids[t] = word
	}
	return ids
}

// pretokenIndex returns, for each byte of text, the index of the GPT-2
// pre-token holding it.
func pretokenIndex(text string) []int {
	idx := make([]int, len(text))
	n := 0
	for s, e := range bpe.Pretokens(text) {
		for i := s; i < e; i++ {
			idx[i] = n
		}
		n++
	}
	return idx
}
