package data

import (
	"fmt"
	"sort"
	"strings"

	"github.com/glossa-ai/glossa/tokenizer"
)

// IgnoreLabel marks a position the token-classification loss skips
// (PyTorch's ignore_index, Hugging Face's -100).
const IgnoreLabel = -100

// TokenClassExample is one window of a tagged sentence, tokenised for
// token classification: the tokenizer's template around the sub-tokens of
// a run of whole words.
type TokenClassExample struct {
	InputIDs []int32
	// Labels holds a label id per token, IgnoreLabel on specials and (unless
	// TokenClassOptions.LabelAllTokens) on every sub-token but a word's first.
	Labels []int32
	// WordIDs holds the word of each token (an index into the sentence's
	// words), -1 on specials.
	WordIDs []int32
	// Sentence is the index of the sentence the window comes from.
	Sentence int
}

// TokenClassOptions configure EncodeTokenClassification.
type TokenClassOptions struct {
	// MaxLen bounds an example's tokens, specials included (required: at
	// least the template's specials + 1).
	MaxLen int
	// LabelAllTokens labels every sub-token with its word's label (a B-X
	// word's later sub-tokens with I-X when the labels have it), as
	// Hugging Face run_ner's --label_all_tokens; zero labels the first
	// sub-token only and gives the others IgnoreLabel (run_ner's default).
	LabelAllTokens bool
	// Truncate cuts a sentence longer than MaxLen after the words that fit
	// (their predictions are missing, and count as O in evaluation); zero
	// splits it into consecutive windows of whole words, so that every word
	// is seen.
	Truncate bool
}

// TokenClassEncoding is the result of EncodeTokenClassification.
type TokenClassEncoding struct {
	Examples []TokenClassExample
	// Windowed counts sentences split into several windows, Truncated the
	// sentences cut, and CutWords the words with tokens lost to truncation.
	Windowed, Truncated, CutWords int
	// Untokenized counts words that produce no token at all (control
	// characters, say): they are never predicted, and count as O.
	Untokenized int
}

// EncodeTokenClassification tokenises tagged sentences for token
// classification: each sentence's words joined by spaces and tokenised
// once (specials in the text stay text), sub-tokens mapped back to their
// words by offset, and cut into windows of whole words that fit MaxLen with
// the template's specials (a single word longer than a window is split).
// labels maps tags to ids; a tag it lacks is an error naming the sentence's
// line and the known labels. With labels nil every label is IgnoreLabel
// (unlabelled data for prediction).
func EncodeTokenClassification(tok *tokenizer.Tokenizer, d *TaggedData, labels *LabelMap, opts TokenClassOptions) (*TokenClassEncoding, error) {
	o := tok.Options()
	o.Truncation, o.Padding, o.SpecialAsText = tokenizer.Truncation{}, tokenizer.Padding{}, true
	t, err := tok.WithOptions(o)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var prefix, suffix []int32 // the single-sequence template's specials
	if tmpl := tok.Template(); tmpl != nil {
		seen := false
		for _, p := range tmpl.Single {
			switch {
			case p.IsSequence():
				seen = true
			case seen:
				suffix = append(suffix, int32(p.ID))
			default:
				prefix = append(prefix, int32(p.ID))
			}
		}
	}
	room := opts.MaxLen - len(prefix) - len(suffix)
	if room < 1 {
		return nil, fmt.Errorf("data: token classification max length %d leaves no room beside %d special tokens", opts.MaxLen, len(prefix)+len(suffix))
	}
	inside := map[int32]int32{} // B-X id → I-X id, for LabelAllTokens
	if labels != nil && opts.LabelAllTokens {
		for _, l := range labels.Labels() {
			if rest, ok := strings.CutPrefix(l, "B-"); ok {
				if id, ok := labels.ID("I-" + rest); ok {
					b, _ := labels.ID(l)
					inside[int32(b)] = int32(id)
				}
			}
		}
	}
	enc := &TokenClassEncoding{}
	for si, s := range d.Sentences {
		wordLabels := make([]int32, len(s.Words))
		for i, tag := range s.Tags {
			wordLabels[i] = IgnoreLabel
			if labels == nil {
				continue
			}
			id, ok := labels.ID(tag)
			if !ok {
				return nil, fmt.Errorf("data: %s:%d: tag %q (word %d, %q) is not one of the model's labels %q",
					d.Path, s.Line, tag, i, s.Words[i], labels.Labels())
			}
			wordLabels[i] = int32(id)
		}
		text, starts := joinWords(s.Words)
		toks := t.Tokenize(text)
		// words[w] = the tokens of word w (a token belongs to the word its first byte is in).
		words := make([][]tokenizer.Token, len(s.Words))
		for _, tk := range toks {
			w := sort.SearchInts(starts, tk.Start+1) - 1
			if w >= 0 {
				words[w] = append(words[w], tk)
			}
		}
		for _, ws := range words {
			if len(ws) == 0 {
				enc.Untokenized++
			}
		}
		windows := 0
		var cur TokenClassExample
		flush := func() {
			cur.InputIDs = append(cur.InputIDs, suffix...)
			for range suffix {
				cur.Labels, cur.WordIDs = append(cur.Labels, IgnoreLabel), append(cur.WordIDs, -1)
			}
			enc.Examples = append(enc.Examples, cur)
			windows++
			cur = TokenClassExample{}
		}
		open := func() {
			cur = TokenClassExample{Sentence: si, InputIDs: append([]int32(nil), prefix...)}
			for range prefix {
				cur.Labels, cur.WordIDs = append(cur.Labels, IgnoreLabel), append(cur.WordIDs, -1)
			}
		}
		open()
		used, cut := 0, false // used: non-special tokens in cur
	words:
		for w, ws := range words {
			if used > 0 && used+len(ws) > room { // the word does not fit: a new window
				if opts.Truncate {
					enc.CutWords += tokenized(words[w:])
					cut = true
					break
				}
				flush()
				open()
				used = 0
			}
			for j, tk := range ws {
				if used == room { // a word longer than a window is split
					if opts.Truncate {
						enc.CutWords += tokenized(words[w+1:])
						cut = true
						break words
					}
					flush()
					open()
					used = 0
				}
				label := int32(IgnoreLabel)
				switch {
				case j == 0:
					label = wordLabels[w]
				case opts.LabelAllTokens && labels != nil:
					label = wordLabels[w]
					if in, ok := inside[label]; ok {
						label = in
					}
				}
				cur.InputIDs = append(cur.InputIDs, int32(tk.ID))
				cur.Labels = append(cur.Labels, label)
				cur.WordIDs = append(cur.WordIDs, int32(w))
				used++
			}
		}
		flush() // (a sentence of untokenizable words still gets its specials)
		if cut {
			enc.Truncated++
		} else if windows > 1 {
			enc.Windowed++
		}
	}
	return enc, nil
}

// tokenized counts the words that have tokens.
func tokenized(words [][]tokenizer.Token) int {
	n := 0
	for _, w := range words {
		if len(w) > 0 {
			n++
		}
	}
	return n
}

// joinWords joins words with single spaces and returns the byte offset at
// which each starts.
func joinWords(words []string) (string, []int) {
	var b strings.Builder
	starts := make([]int, len(words))
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		starts[i] = b.Len()
		b.WriteString(w)
	}
	return b.String(), starts
}

// TokenClassBatch is a padded batch for token classification, row-major
// [B, T] arrays.
type TokenClassBatch struct {
	B, T          int
	InputIDs      []int32 // PadID after each example
	AttentionMask []int32 // 1 for tokens, 0 for padding
	Labels        []int32 // IgnoreLabel on padding
}

// CollateTokenClassification pads examples to the longest with padID.
func CollateTokenClassification(examples []TokenClassExample, padID int32) TokenClassBatch {
	T := 0
	for _, e := range examples {
		T = max(T, len(e.InputIDs))
	}
	B := len(examples)
	b := TokenClassBatch{B: B, T: T, InputIDs: make([]int32, B*T), AttentionMask: make([]int32, B*T), Labels: make([]int32, B*T)}
	for i, e := range examples {
		row := b.InputIDs[i*T : (i+1)*T]
		n := copy(row, e.InputIDs)
		for j := n; j < T; j++ {
			row[j] = padID
		}
		lab := b.Labels[i*T : (i+1)*T]
		copy(lab, e.Labels)
		for j := range T {
			if j < n {
				b.AttentionMask[i*T+j] = 1
			} else {
				lab[j] = IgnoreLabel
			}
		}
	}
	return b
}
