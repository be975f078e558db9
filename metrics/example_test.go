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
