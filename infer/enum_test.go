package infer

import "testing"

// TestEnumNames checks that every Format, KVType and Activation parses from
// its String and its other spellings, and that unknown names and values
// are reported.
func TestEnumNames(t *testing.T) {
	for f := F32; f <= Stored; f++ {
		if got, err := ParseFormat(f.String()); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), got, err)
		}
	}
	for t0 := KVDefault; t0 <= KVF16; t0++ {
		if got, err := ParseKVType(t0.String()); err != nil || got != t0 {
			t.Errorf("ParseKVType(%q) = %v, %v", t0.String(), got, err)
		}
	}
	for a := GELU; a <= Identity; a++ {
		if got, err := ParseActivation(a.String()); err != nil || got != a {
			t.Errorf("ParseActivation(%q) = %v, %v", a.String(), got, err)
		}
	}
	for _, tc := range []struct {
		name string
		want Format
	}{{"", F32}, {"FP32", F32}, {"BFloat16", BF16}, {"gguf", Stored}, {"fp16", F16}} {
		if got, err := ParseFormat(tc.name); err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if got, err := ParseKVType("Half"); err != nil || got != KVF16 {
		t.Errorf("ParseKVType(Half) = %v, %v", got, err)
	}
	if got, err := ParseActivation("gelu_pytorch_tanh"); err != nil || got != GELUTanh {
		t.Errorf("ParseActivation(gelu_pytorch_tanh) = %v, %v", got, err)
	}
	if _, err := ParseFormat("q5_k"); err == nil {
		t.Error("ParseFormat(q5_k) succeeded")
	}
	if _, err := ParseKVType("q8_0"); err == nil {
		t.Error("ParseKVType(q8_0) succeeded")
	}
	if _, err := ParseActivation("GELU"); err == nil { // Hugging Face's names are lower case
		t.Error("ParseActivation(GELU) succeeded")
	}
	if s := Format(99).String(); s != "Format(99)" {
		t.Errorf("Format(99).String() = %q", s)
	}
}
