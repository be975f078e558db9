package text2text

import (
	"strings"

	"github.com/glossa-ai/glossa/data"
)

// Sentences splits text into sentences: at line breaks, then within each
// line with data.SplitSentences (terminal punctuation followed by space,
// abbreviations kept).
func Sentences(text string) []string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		out = append(out, data.SplitSentences(line)...)
	}
	return out
}

// Lead is the lead-N baseline of summarization: the first n sentences of
// text (Sentences), one per line, so that ROUGE-Lsum sees them as
// sentences. n ≤ 0 gives "".
func Lead(text string, n int) string {
	s := Sentences(text)
	return strings.Join(s[:min(max(n, 0), len(s))], "\n")
}

// LeadWords is the first n whitespace-separated words of text, joined by
// single spaces (a baseline for headlines).
func LeadWords(text string, n int) string {
	w := strings.Fields(text)
	return strings.Join(w[:min(max(n, 0), len(w))], " ")
}

// SentenceLines puts each sentence of text on its own line, as summarization
// evaluations do before ROUGE-Lsum (Hugging Face's run_summarization.py
// with nltk's sent_tokenize).
func SentenceLines(text string) string { return strings.Join(Sentences(text), "\n") }
