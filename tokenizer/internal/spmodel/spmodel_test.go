package spmodel

import (
	"reflect"
	"testing"
)

func TestMarshalRoundTrip(t *testing.T) {
	m := New()
	m.Pieces = []Piece{{"<unk>", 0, Unknown}, {"<s>", 0, Control}, {"▁a", -1.5, Normal}, {"<0x41>", 0, Byte},
		{"<u>", 0, UserDefined}, {"x", -9, Unused}}
	m.Trainer.ModelType, m.Trainer.ByteFallback, m.Trainer.EOSID, m.Trainer.UnkSurface = BPE, true, -1, "?"
	m.Normalizer = NormalizerSpec{Name: "nmt_nfkc", PrecompiledCharsmap: []byte{1, 2, 3}, AddDummyPrefix: false, RemoveExtraWhitespaces: true, EscapeWhitespaces: true}
	got, err := Parse(m.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("Parse(Marshal(m)) =\n%+v\nwant\n%+v", got, m)
	}
	if got.Trainer.ModelType.String() != "BPE" || ModelType(9).String() != "model type 9" {
		t.Error("ModelType.String")
	}
}

func TestParseErrors(t *testing.T) {
	for name, data := range map[string][]byte{
		"bad key":      {0x80},
		"field 0":      {0x00},
		"bad length":   {0x0a, 0x05, 'a'},
		"wire type 3":  {0x0b},
		"piece type":   {0x0a, 0x02, 0x18, 0x09},
		"piece wire":   {0x08, 0x01},
		"trainer wire": {0x10, 0x01},
		"bad varint":   {0x12, 0x02, 0x18, 0x80},
		"fixed32":      {0x0a, 0x02, 0x15, 0x00},
		"fixed64":      {0x19, 0x00},
		"huge field":   {0xf8, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00},
	} {
		if _, err := Parse(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
