package bert

import (
	"strings"
	"testing"
)

// TestMarshalKeepsLabelNames checks that a classifier's config.json keeps the
// class names of id2label (and the matching label2id), not LABEL_i.
func TestMarshalKeepsLabelNames(t *testing.T) {
	c := Base()
	c.ID2Label = map[int]string{0: "negative", 1: "positive"}
	raw, err := c.marshal("BertForSequenceClassification")
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"negative", "positive"} {
		if got := back.LabelName(i); got != want {
			t.Errorf("label %d = %q, want %q", i, got, want)
		}
		if back.Label2ID[want] != i {
			t.Errorf("label2id[%q] = %d, want %d", want, back.Label2ID[want], i)
		}
	}
	if strings.Contains(string(raw), "LABEL_") {
		t.Errorf("config.json still has LABEL_i names:\n%s", raw)
	}
}
