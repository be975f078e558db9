// Package metrics scores predictions against references with the
// semantics of the reference implementations that papers report, so that a
// figure computed here can be compared with a published one:
//
//   - Classification (Confusion, ClassReport, Accuracy): scikit-learn's
//     classification_report — per-class precision, recall and F1 with
//     zero_division=0, their macro and micro averages, and the confusion
//     matrix; masked-LM accuracy over the positions with a target
//     (MaskedAccuracy, IgnoreIndex = -100 as in PyTorch) and the
//     perplexity exp(mean cross-entropy) of a language model.
//   - BLEU (CorpusBLEU, SentenceBLEU): sacreBLEU 2.x — the mteval-v13a
//     tokenizer, n-gram counts pooled over the corpus and clipped by the
//     references' maximum counts, the closest reference length, the
//     exponential brevity penalty exp(1 − r/c), and "exp" smoothing by
//     default; the result prints like sacreBLEU, with its signature
//     ("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x").
//   - ROUGE-1/2/L/Lsum (Rouge, RougeMulti, CorpusROUGE): Google's
//     rouge-score package (its tokenizer: lower case, runs of characters
//     other than a–z and 0–9 as separators; optionally NLTK's Porter
//     stemmer on tokens longer than three letters), precision, recall and
//     F-measure per type, the summary-level union LCS for ROUGE-Lsum.
//   - Exact match and token F1 (ExactMatch, TokenF1): the SQuAD evaluation
//     script's answer normalisation (v2.0's handling of empty answers).
//   - Entity-level precision, recall and F1 of tag sequences
//     (EvaluateEntities, Entities): seqeval — its default mode, which is
//     conlleval's reading of IOB1, IOB2 and IOBES tags, or its strict mode
//     under a scheme; micro, macro and weighted averages and a per-type
//     report.
//
// Where the reference implementations are Python, the string operations
// follow Python's (str.split's whitespace, str.lower's full case mapping of
// 'İ' and final sigma), so that unusual input scores the same.
//
// BLEU is
//
//	BLEU = BP · exp( Σₙ log pₙ / N ),   BP = 1 if c ≥ r, else exp(1 − r/c)
//
// with pₙ the clipped n-gram precisions (n = 1 … N, N = 4), c the
// hypothesis length and r the reference length, both in tokens and summed
// over the corpus. ROUGE-N is the n-gram overlap of a prediction and a
// target as precision (over the prediction's n-grams), recall (over the
// target's) and their harmonic mean F; ROUGE-L replaces the overlap by the
// length of the longest common subsequence.
package metrics
