package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddedToken is a token matched verbatim in the input before the model sees
// it, such as BERT's "[MASK]" or GPT-2's "<|endoftext|>" (Hugging Face's
// added_tokens). Matching is on the raw text, as Hugging Face does for
// tokens with normalized=false (all the special tokens of BERT, GPT-2 and
// Llama); tokens Hugging Face would match after normalization (say,
// case-insensitively under lower-casing) are matched verbatim here.
type AddedToken struct {
	Content string // the text matched in the input
	ID      int    // the token's id
	// Special marks control tokens: Decode can skip them, and
	// Options.SpecialAsText turns off their matching.
	Special bool
	// SingleWord matches the token only when it is not inside a word (no
	// letter, digit or '_' right before or after it).
	SingleWord bool
	// LStrip and RStrip let the match swallow the whitespace on its left or
	// right, so that whitespace produces no tokens.
	LStrip, RStrip bool
}

// addedVocab finds added tokens in text: leftmost match first, and the
// longest token among those starting there.
type addedVocab struct {
	tokens  []AddedToken        // sorted by decreasing length of Content
	byID    map[int]*AddedToken // id → token
	byText  map[string]int      // content → id
	first   [256]bool           // first bytes of any matchable content
	special map[int]bool        // ids of special tokens
}

func newAddedVocab(tokens []AddedToken) *addedVocab {
	v := &addedVocab{
		byID:    make(map[int]*AddedToken, len(tokens)),
		byText:  make(map[string]int, len(tokens)),
		special: make(map[int]bool),
	}
	for _, t := range tokens {
		if t.Content == "" {
			continue
		}
		v.tokens = append(v.tokens, t)
	}
	sort.SliceStable(v.tokens, func(i, j int) bool { return len(v.tokens[i].Content) > len(v.tokens[j].Content) })
	for i := range v.tokens {
		t := &v.tokens[i]
		v.byID[t.ID] = t
		v.byText[t.Content] = t.ID
		if t.Special {
			v.special[t.ID] = true
		}
		v.first[t.Content[0]] = true
	}
	return v
}

// segment is a piece of the input: either plain text [start, end) or an
// added token (id >= 0) that covers [start, end).
type segment struct {
	start, end int
	id         int // -1 for plain text
}

// split cuts text into plain segments and added-token matches. When
// skipSpecial is set, special tokens are not matched.
func (v *addedVocab) split(text string, skipSpecial bool, dst []segment) []segment {
	dst = dst[:0]
	if v == nil || len(v.tokens) == 0 {
		return append(dst, segment{0, len(text), -1})
	}
	plainStart := 0
	for i := 0; i < len(text); {
		if !v.first[text[i]] {
			i++
			continue
		}
		t := v.matchAt(text, i, skipSpecial)
		if t == nil {
			i++
			continue
		}
		start, end := i, i+len(t.Content)
		if t.LStrip {
			for start > plainStart {
				r, size := utf8.DecodeLastRuneInString(text[plainStart:start])
				if !unicode.IsSpace(r) {
					break
				}
				start -= size
			}
		}
		if t.RStrip {
			for end < len(text) {
				r, size := utf8.DecodeRuneInString(text[end:])
				if !unicode.IsSpace(r) {
					break
				}
				end += size
			}
		}
		if start > plainStart {
			dst = append(dst, segment{plainStart, start, -1})
		}
		dst = append(dst, segment{start, end, t.ID})
		plainStart, i = end, end
	}
	if plainStart < len(text) || len(dst) == 0 {
		dst = append(dst, segment{plainStart, len(text), -1})
	}
	return dst
}

// matchAt returns the longest added token that matches text at i.
func (v *addedVocab) matchAt(text string, i int, skipSpecial bool) *AddedToken {
	for k := range v.tokens {
		t := &v.tokens[k]
		if skipSpecial && t.Special {
			continue
		}
		if !strings.HasPrefix(text[i:], t.Content) {
			continue
		}
		if t.SingleWord {
			if r, _ := utf8.DecodeLastRuneInString(text[:i]); i > 0 && isWordChar(r) {
				continue
			}
			if r, _ := utf8.DecodeRuneInString(text[i+len(t.Content):]); i+len(t.Content) < len(text) && isWordChar(r) {
				continue
			}
		}
		return t
	}
	return nil
}

func isWordChar(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
