package scheduler

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/glossa-ai/glossa/generate"
)

// decodeWindow is how many already decoded tokens precede the new ones when
// decoding incrementally, so that context-dependent renderings (a leading
// space dropped after BOS, multi-byte characters split over byte tokens)
// come out as in a one-shot decode. It matches generate's.
const decodeWindow = 4

// textStream turns a sequence's generated tokens into text pieces as they
// come: each token costs O(1) decoding (the difference between decoding a
// short window with and without the new tokens), text ending in an
// incomplete character or in a possible start of a stop string is held
// back, and a stop string ends the text before it.
type textStream struct {
	dec     generate.Decoder
	stops   []string
	longest int // longest stop string, bytes

	tokens     []int // the prompt's last tokens, then the generated ones
	from, read int   // tokens[from:read] are already text
	text       string
	scanned    int // bytes of text searched for stop strings
	emitted    int // bytes of text returned
	stopped    bool
}

func newTextStream(dec generate.Decoder, stops []string, prompt []int) *textStream {
	t := &textStream{dec: dec, stops: stops}
	for _, s := range stops {
		t.longest = max(t.longest, len(s))
	}
	tail := prompt[max(0, len(prompt)-decodeWindow):]
	t.tokens = append(make([]int, 0, len(tail)+32), tail...)
	t.from, t.read = 0, len(tail)
	return t
}

// push adds a generated token and returns the text that became final. When
// a stop string appears, stopped is set, the text is cut before it and
// everything left before the cut is returned.
func (t *textStream) push(id int) (piece string, stopped bool, err error) {
	t.tokens = append(t.tokens, id)
	if t.dec == nil || t.stopped {
		return "", t.stopped, nil
	}
	if err := t.decodeNew(false); err != nil {
		return "", false, err
	}
	if t.cutStop() {
		t.stopped = true
		return t.emit(true), true, nil
	}
	return t.emit(false), false, nil
}

// flush returns the text still held back, decoding tokens that end
// mid-character as they are.
func (t *textStream) flush() string {
	if t.dec == nil {
		return ""
	}
	if !t.stopped {
		_ = t.decodeNew(true) // an error leaves the text as it is
		if t.cutStop() {
			t.stopped = true
		}
	}
	return t.emit(true)
}

// decodeNew appends the text of the tokens decoded since the last call; with
// flush the window is taken as it is even mid-character.
func (t *textStream) decodeNew(flush bool) error {
	if t.read == len(t.tokens) {
		return nil
	}
	prev, err := t.dec.Decode(t.tokens[t.from:t.read], true)
	if err != nil {
		return fmt.Errorf("scheduler: decode: %w", err)
	}
	full, err := t.dec.Decode(t.tokens[t.from:], true)
	if err != nil {
		return fmt.Errorf("scheduler: decode: %w", err)
	}
	if !strings.HasPrefix(full, prev) {
		if !flush {
			return nil // the window is mid-character; wait for more tokens
		}
		prev = ""
	}
	piece := full[len(prev):]
	if !flush && (strings.HasSuffix(piece, "\uFFFD") || !utf8.FullRuneInString(piece[lastRuneStart(piece):])) {
		return nil
	}
	t.text += piece
	// Keep a window of decodeWindow tokens; drop older ones so that the
	// token slice stays short.
	if n := len(t.tokens) - decodeWindow; n > 0 {
		t.tokens = append(t.tokens[:0], t.tokens[n:]...)
	}
	t.from, t.read = 0, len(t.tokens)
	return nil
}

// cutStop searches the new text for a stop string and cuts the text before
// the first one.
func (t *textStream) cutStop() bool {
	if len(t.stops) == 0 {
		t.scanned = len(t.text)
		return false
	}
	start := max(0, t.scanned-t.longest+1)
	t.scanned = len(t.text)
	cut := -1
	for _, s := range t.stops {
		if i := strings.Index(t.text[start:], s); i >= 0 && (cut < 0 || start+i < cut) {
			cut = start + i
		}
	}
	if cut < 0 {
		return false
	}
	t.text = t.text[:cut]
	t.emitted = min(t.emitted, cut)
	return true
}

// emit returns the text not yet returned that is final: with final, all of
// it; otherwise holding back an incomplete character or a replacement
// character at the end, and any suffix that may begin a stop string.
func (t *textStream) emit(final bool) string {
	end := len(t.text)
	if !final {
		for end > t.emitted && !utf8.FullRuneInString(t.text[lastRuneStart(t.text[:end]):end]) {
			end = lastRuneStart(t.text[:end])
		}
		if strings.HasSuffix(t.text[:end], "\uFFFD") {
			end -= len("\uFFFD")
		}
		for _, s := range t.stops {
			for k := min(len(s)-1, end-t.emitted); k > 0; k-- {
				if strings.HasSuffix(t.text[:end], s[:k]) {
					end -= k
					break
				}
			}
		}
	}
	if end <= t.emitted {
		return ""
	}
	piece := t.text[t.emitted:end]
	t.emitted = end
	// The emitted text is never needed again except for stop strings
	// spanning the boundary: keep only the tail they could start in.
	if keep := max(t.longest, 1); t.emitted > 4*keep+256 {
		drop := t.emitted - keep
		t.text = t.text[drop:]
		t.emitted -= drop
		t.scanned -= drop
	}
	return piece
}

func lastRuneStart(s string) int {
	i := len(s) - 1
	for i > 0 && !utf8.RuneStart(s[i]) && len(s)-i < utf8.UTFMax {
		i--
	}
	return max(i, 0)
}
