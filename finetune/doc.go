// Package finetune holds the fine-tuning tasks of Glossa's models as
// train.Tasks, with the model builders and the evaluation they need:
//
//   - Sequence classification (sentiment, NLI sentence pairs): ClassifyTask
//     trains a BertForSequenceClassification built by NewClassifier on a
//     pretrained encoder folder; Predict gives class probabilities in padded
//     length-sorted batches; ReportEval turns a metrics.ClassReport into the
//     metrics a run logs (accuracy, macro P/R/F1, F1 per class).
//   - Token classification (NER, chunking): NERTask trains a
//     BertForTokenClassification built by NewTokenClassifier; PredictTags
//     tags words by their first sub-token and ScoreTags scores them with
//     seqeval's entity-level precision, recall and F1.
//   - Sequence to sequence: Seq2SeqTask trains a models/transformer
//     encoder-decoder (MarianMT layout) with label-smoothed cross-entropy on
//     length-grouped, token-budget batches.
//
// One package rather than one per task, because the tasks share their
// shape — a labelled head on a pretrained encoder, the label names carried
// into config.json, the same resumable micro-batch stream
// (train/microbatch) — and they are the tasks of "glossa finetune --task".
// Extractive question answering, which brings its own data format and
// scoring, is package qa.
package finetune
