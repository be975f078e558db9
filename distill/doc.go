// Package distill is knowledge distillation for BERT encoders with
// DistilBERT's recipe (Sanh et al., 2019, "DistilBERT, a distilled version of
// BERT"): a student with fewer layers learns from a teacher's outputs.
//
// The loss is a weighted sum of
//
//   - the soft-target loss of Hinton et al. (2015): the KL divergence from
//     the teacher's distribution at temperature T to the student's, times T²
//     (SoftTargetKL);
//   - the hard-label loss: cross-entropy against the gold class (task
//     distillation, Classify) or the masked-LM cross-entropy (general
//     distillation on a corpus, MaskedLM);
//   - optionally, the cosine embedding loss between the student's and the
//     teacher's last hidden states on the real tokens (CosineLoss).
//
// A student with N layers is initialised from the teacher (NewStudent):
// embeddings, N of its layers (LayerMap: spread from the first to the last,
// which for 12 → 6 is extract_distilbert.py's 0, 2, 4, 7, 9, 11), and the
// heads. The teacher runs on the inference path (bert.Encoder: no graph, no
// dropout). The tasks implement train.Task, so the trainer gives them exact
// resume, metrics, plots, progress and atomic checkpoints; the saved student
// is an ordinary BertForSequenceClassification or BertForMaskedLM folder.
package distill
