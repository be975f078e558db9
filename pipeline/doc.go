// Package pipeline is Hugging Face's pipeline(task, model) for Go: a task
// name and a model reference in, a typed pipeline out, whose inputs,
// options and results follow Hugging Face's field for field.
//
//	p, err := pipeline.LoadQuestionAnswering(ctx, "distilbert/distilbert-base-cased-distilled-squad", nil)
//	answers, err := p.Run(ctx, []pipeline.QAInput{{Question: q, Context: c}}, &pipeline.QAOptions{TopK: 3})
//
// The tasks, each a type with Run (typed) and CallJSON (Hugging Face's
// argument names as JSON, for command lines and servers):
//
//	fill-mask                 FillMask             top_k, targets
//	text-classification       TextClassification   top_k, function_to_apply
//	token-classification      TokenClassification  aggregation_strategy (none, simple, first, average, max), ignore_labels, stride
//	question-answering        QuestionAnswering    top_k, doc_stride, max_answer_len, max_seq_len, max_question_len, handle_impossible_answer
//	feature-extraction        FeatureExtraction    pooling (mean, cls, …), normalize; sentence-transformers folders
//	zero-shot-classification  ZeroShot             candidate_labels, hypothesis_template, multi_label
//	text-generation           TextGeneration       max_new_tokens, do_sample, temperature, top_k, top_p, return_full_text; chats
//
// TextGeneration runs causal LMs (models/auto.LoadCausalLM); its Session
// is a conversation that keeps the model's cache between turns, rendered
// with the model's chat template when it has one (glossa run is a loop
// over it).
//
// The other tasks' models are BERT, DistilBERT, RoBERTa and XLM-RoBERTa folders (package
// bert's Encoder, chosen from config.json by models/auto) with the head
// the task needs; Load names the missing head and the model's
// architectures otherwise. A reference is a local folder, or ORG/NAME[@REV]
// on the Hub, read from the Hugging Face cache or downloaded into it
// (hub.ResolveModel).
//
// Semantics are those of Python's transformers (4.53, the last release
// with the extractive question-answering pipeline): token classification
// groups entities before it drops "O", keeps [UNK] tokens (with the text
// they stand for) and returns character offsets; question answering reads
// long contexts in overlapping windows, limits answers to max_answer_len
// tokens, widens them to whole words and returns the context's own text;
// fill-mask fills every mask. Where transformers.js departs from Python,
// the tests against its goldens (../shared/golden/hf_pipelines) show the
// difference.
//
// Inputs run in batches (Options.BatchSize, 32) padded into one forward
// pass each; only the mask rows go through a masked-LM head. A pipeline is
// immutable once loaded and safe for concurrent use: each call takes its
// own workspace. Errors of bad calls — an empty context, a text without a
// mask, a question longer than max_seq_len, an unknown option — wrap
// ErrInput.
package pipeline
