package metrics

import (
	"strings"
	"testing"
)

func TestPorterStem(t *testing.T) {
	// NLTK's stem.doctest: the plurals, stemmed with the default mode.
	plurals := "caresses flies dies mules denied died agreed owned humbled sized meeting stating siezing itemization sensational traditional reference colonizer plotted"
	want := "caress fli die mule deni die agre own humbl size meet state siez item sensat tradit refer colon plot"
	var got []string
	for w := range strings.FieldsSeq(plurals) {
		got = append(got, porterStem(w))
	}
	if g := strings.Join(got, " "); g != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
	// Traced by hand through the steps (and NLTK's irregular forms).
	for w, s := range map[string]string{
		"relational": "relat", "conditional": "condit", "hopefulness": "hope", "generalizations": "gener",
		"agre": "agr", "wording": "word", "happy": "happi", "enjoy": "enjoy", "skies": "sky", "dying": "die",
		"news": "news", "controlling": "control", "geology": "geolog", "hopping": "hop", "filing": "file",
		"falling": "fall", "running": "run", "by": "by", "ties": "tie", "spied": "spi", "radically": "radic",
	} {
		if got := porterStem(w); got != s {
			t.Errorf("porterStem(%q) = %q, want %q", w, got, s)
		}
	}
}
