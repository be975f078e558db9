// Package qa is extractive question answering on SQuAD data: reading
// SQuAD v1.1 / v2.0 JSON (ReadFile, Parse), turning questions into training
// windows with their answer tokens as Hugging Face's run_qa does (Features),
// fine-tuning a BertForQuestionAnswering on the train package's Trainer
// (Task: the span loss, exact resume, a periodic evaluation), and scoring
// answers as the official SQuAD v2.0 evaluation script does (Predict,
// Score): exact match and F1 with its answer normalisation, the answerable
// (HasAns) and unanswerable (NoAns) questions apart, and the best
// no-answer threshold. Predict answers through package pipeline's
// question-answering pipeline, so that an evaluation measures exactly what
// "glossa pipeline question-answering" and "glossa serve" return: the same
// windows (pipeline.QAWindows, which Features labels too), span search,
// max_answer_len and no-answer score. Baseline gives the trivial answerers a
// model must beat (no answer, the first sentence, the sentence sharing most
// words with the question).
package qa
