package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/glossa-ai/glossa/data"
)

// --task nli is sequence-pair classification (--task classify with a
// --pair-column) with NLI's conventions fixed, so that the model drives
// the zero-shot-classification pipeline:
//
//   - columns premise, hypothesis and label by default (GLUE MNLI / SNLI
//     as Hugging Face datasets export them);
//   - the classes in Hugging Face datasets' MNLI/SNLI order, entailment 0,
//     neutral 1, contradiction 2, whatever labels the training file holds;
//     label2id then names the entailment class, which is what the
//     zero-shot pipeline looks for (with contradiction the last class, the
//     one Python's pipeline reads when entailment is 0);
//   - labels given by name in any case, or as those integers; SNLI's -1
//     (no gold label) rows are skipped and counted.

// nliLabels are the NLI classes in id order.
var nliLabels = []string{"entailment", "neutral", "contradiction"}

// nliDefaults fills the NLI column names the user did not choose.
func nliDefaults(o *data.LabeledOptions) {
	if o.TextColumn == "" {
		o.TextColumn = "premise"
	}
	if o.PairColumn == "" {
		o.PairColumn = "hypothesis"
	}
	if o.LabelColumn == "" {
		o.LabelColumn = "label"
	}
}

// nliNormalize rewrites d's labels as the class names ("0" and "Entailment"
// become "entailment"), drops the rows labelled -1, and refuses any other
// label.
func nliNormalize(d *data.LabeledData, logger *slog.Logger) error {
	kept := d.Examples[:0]
	unlabelled := 0
	for _, e := range d.Examples {
		l := strings.ToLower(strings.TrimSpace(e.Label))
		switch l {
		case "-1":
			unlabelled++
			continue
		case "0", "1", "2":
			l = nliLabels[l[0]-'0']
		case "entailment", "neutral", "contradiction":
		default:
			return fmt.Errorf("%s line %d: NLI label %q is not entailment, neutral, contradiction or 0, 1, 2 (Hugging Face's MNLI/SNLI ids)", d.Path, e.Line, e.Label)
		}
		e.Label = l
		kept = append(kept, e)
	}
	d.Examples = kept
	if unlabelled > 0 {
		logger.Warn("skipped NLI rows without a gold label (-1)", "file", d.Path, "count", unlabelled)
	}
	if len(kept) == 0 {
		return fmt.Errorf("%s: no NLI row has a gold label", d.Path)
	}
	return nil
}
