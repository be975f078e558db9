// Package train is the model-independent trainer: a Trainer runs any Task
// (a model, its objective and its data stream, behind six methods) with
// AdamW, a warm-up and decay schedule, gradient accumulation and clipping,
// periodic evaluation and checkpoints, and resumes a killed or interrupted
// run exactly.
//
// Besides the loop it holds the pieces a run is made of, each usable on its
// own: atomic checkpoint folders (WriteCheckpoint, LatestCheckpoint,
// PruneCheckpoints) holding the optimizer state and trainer_state.json, the
// random state of a run (RNGState, and StepSeed for randomness that is a
// pure function of the run's seed and the micro-batch), the JSON-lines
// metrics log (MetricsLog, ReadMetricsLog), the loss and learning-rate
// plots (PlotLossLR, PlotRuns) and a progress display that is a live bar on
// a terminal and periodic log lines elsewhere.
//
// The package knows no model, tokenizer or data format. The tasks live with
// their concept: pretraining objectives in package pretrain, fine-tuning in
// finetune, question answering in qa, distillation in distill; what they
// share (a resumable stream of micro-batches, one forward and backward pass
// per step) is package train/microbatch. Evaluation metrics are package
// metrics.
package train
