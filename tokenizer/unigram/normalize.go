package unigram

import (
	"strings"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/tokenizer/internal/spmodel"
)

// metaspace is SentencePiece's visible space, U+2581.
const metaspace = "\u2581"

// replacementChar is what a byte of malformed UTF-8 normalizes to.
const replacementChar = "\uFFFD"

// normalizer applies a NormalizerSpec the way SentencePiece's Normalizer
// does:
//
//   - the text is consumed one prefix at a time: the longest user-defined
//     piece (left as it is), else the longest rule of the precompiled
//     charsmap (replaced), else one UTF-8 character (a malformed byte
//     becomes U+FFFD);
//   - with remove_extra_whitespaces, leading spaces are dropped, a
//     replacement's leading spaces are dropped after a space, and trailing
//     spaces are dropped at the end;
//   - with add_dummy_prefix, a space goes in front (or at the end, with
//     treat_whitespace_as_suffix);
//   - with escape_whitespaces, every space is written as "▁".
//
// Spaces are ' ' only: the charsmap maps other whitespace to it.
type normalizer struct {
	cmap        *spmodel.Charsmap // nil: no rules (identity)
	user        *trie             // user-defined pieces, nil if none
	dummyPrefix bool
	removeExtra bool
	escape      bool
	suffix      bool
}

// normalized is a normalized text with its alignment: orig[i] is the byte
// offset in the original text where the character that produced byte i
// starts (for inserted bytes: where the next character starts), and
// orig[len(s)] is the offset where the normalized text ends. A piece
// covering s[a:b] covers the original bytes [orig[a], orig[b]).
type normalized struct {
	s    []byte
	orig []int32
}

func (n *normalized) reset() {
	n.s, n.orig = n.s[:0], n.orig[:0]
}

// prefix returns the normalized form of the first unit of text and the
// number of bytes it consumes (at least 1).
func (n *normalizer) prefix(text string) (string, int) {
	if n.user != nil {
		if l, _ := n.user.longestPrefix(text); l > 0 {
			return text[:l], l
		}
	}
	if n.cmap != nil {
		if l, repl := n.cmap.Longest(text); l > 0 {
			return repl, l
		}
	}
	if text[0] < utf8.RuneSelf {
		return text[:1], 1
	}
	r, size := utf8.DecodeRuneInString(text)
	if r == utf8.RuneError && size == 1 {
		return replacementChar, 1
	}
	return text[:size], size
}

// normalize writes the normalized form of text to out (reset first). An
// empty result has no alignment entries at all.
func (n *normalizer) normalize(text string, out *normalized) {
	out.reset()
	consumed := 0
	if n.removeExtra {
		for text != "" {
			sp, l := n.prefix(text)
			if sp != " " {
				break
			}
			text = text[l:]
			consumed += l
		}
	}
	if text == "" {
		return
	}
	addSpace := func() {
		if n.escape {
			out.s = append(out.s, metaspace...)
			out.orig = append(out.orig, int32(consumed), int32(consumed), int32(consumed))
		} else {
			out.s = append(out.s, ' ')
			out.orig = append(out.orig, int32(consumed))
		}
	}
	if !n.suffix && n.dummyPrefix {
		addSpace()
	}
	prevSpace := n.removeExtra
	for text != "" {
		sp, l := n.prefix(text)
		if prevSpace {
			sp = strings.TrimLeft(sp, " ")
		}
		if sp != "" {
			for i := 0; i < len(sp); i++ {
				if n.escape && sp[i] == ' ' {
					out.s = append(out.s, metaspace...)
					out.orig = append(out.orig, int32(consumed), int32(consumed), int32(consumed))
				} else {
					out.s = append(out.s, sp[i])
					out.orig = append(out.orig, int32(consumed))
				}
			}
			prevSpace = sp[len(sp)-1] == ' '
		}
		consumed += l
		text = text[l:]
		if !n.removeExtra {
			prevSpace = false
		}
	}
	if n.removeExtra {
		space := " "
		if n.escape {
			space = metaspace
		}
		for len(out.s) >= len(space) && string(out.s[len(out.s)-len(space):]) == space {
			k := len(out.s) - len(space)
			consumed = int(out.orig[k])
			out.s, out.orig = out.s[:k], out.orig[:k]
		}
	}
	if n.suffix && n.dummyPrefix {
		addSpace()
	}
	out.orig = append(out.orig, int32(consumed))
}
