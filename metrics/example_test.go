package metrics_test

import (
	"fmt"

	"github.com/glossa-ai/glossa/metrics"
)

// Corpus BLEU of sacreBLEU's README example: three translations, two
// references each. The score, the precisions and the signature are the
// ones sacreBLEU prints.
func ExampleCorpusBLEU() {
	hyps := []string{"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."}
	refs := [][]string{
		{"The dog bit the man.", "The dog had bit the man."},
		{"It was not unexpected.", "No one was surprised."},
		{"The man bit him first.", "The man had bitten the dog."},
	}
	b, err := metrics.CorpusBLEU(hyps, refs, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(b)
	fmt.Println(b.Signature)
	// Output:
	// BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)
	// nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x
}

// ROUGE of a summary against a reference, with and without the Porter
// stemmer: "cats"/"cat" and "sitting"/"sat" match only when stemmed
// ("sitting" → "sit" does not meet "sat").
func ExampleRouge() {
	hyp, ref := "The cats are sitting on the mat.", "The cat sat on the mat."
	fmt.Println(metrics.Rouge(hyp, ref, nil))
	fmt.Println(metrics.Rouge(hyp, ref, &metrics.ROUGEOptions{Stem: true}))
	s := metrics.Rouge(hyp, ref, nil).R1
	fmt.Printf("ROUGE-1 P %.3f R %.3f F %.3f\n", s.Precision, s.Recall, s.F)
	// Output:
	// ROUGE-1 61.54 ROUGE-2 36.36 ROUGE-L 61.54 ROUGE-Lsum 61.54
	// ROUGE-1 76.92 ROUGE-2 54.55 ROUGE-L 76.92 ROUGE-Lsum 76.92
	// ROUGE-1 P 0.571 R 0.667 F 0.615
}

// Entity-level precision, recall and F1 with seqeval's (and conlleval's)
// semantics: MISC is predicted one word too early, PER exactly.
func ExampleEvaluateEntities() {
	refs := [][]string{{"O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"}, {"B-PER", "I-PER", "O"}}
	preds := [][]string{{"O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"}, {"B-PER", "I-PER", "O"}}
	r, err := metrics.EvaluateEntities(refs, preds, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("F1 %.2f, accuracy %.2f\n", r.Micro.F1, r.Accuracy)
	for _, s := range r.Types {
		fmt.Printf("%s: P %.2f R %.2f F1 %.2f (%d)\n", s.Type, s.Precision, s.Recall, s.F1, s.Support)
	}
	// Output:
	// F1 0.50, accuracy 0.80
	// MISC: P 0.00 R 0.00 F1 0.00 (1)
	// PER: P 1.00 R 1.00 F1 1.00 (1)
}

// Evaluate a 3-class classifier.
func ExampleConfusion() {
	c := metrics.NewConfusion([]string{"neg", "neu", "pos"})
	c.AddAll([]int{0, 0, 1, 2, 2, 2}, []int{0, 1, 1, 2, 2, 0})
	fmt.Print(c)
	r := c.Report()
	fmt.Printf("accuracy %.3f, macro F1 %.3f\n", r.Accuracy, r.Macro.F1)
	// Output:
	// true\pred    neg    neu    pos
	// neg            1      1      0
	// neu            0      1      0
	// pos            1      0      2
	// accuracy 0.667, macro F1 0.656
}
