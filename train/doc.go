// Package train holds the model-independent machinery of a training run:
// evaluation metrics (classification, perplexity, masked-LM accuracy, QA
// exact match and F1, BLEU, ROUGE), a JSON-lines metrics log, the loss and
// learning-rate plot, atomic checkpoint folders with RNG state, and a
// progress display that is a live bar on a terminal and periodic log lines
// elsewhere.
//
// The training loop that ties a model, an optimizer and these pieces
// together lives beside them; every piece here can be used and tested on
// its own.
package train
