package distill

import "testing"

// FuzzParseLayerMap: --layer-map never panics, and whatever it accepts is
// a strictly increasing list of the teacher's layers shorter than it.
func FuzzParseLayerMap(f *testing.F) {
	for _, s := range []string{"0,2", "0, 3", "11", "", ",", "-1", "0,0", "99999999999999999999", "1,2,3,4", " 5 ,7"} {
		f.Add(s, 4)
		f.Add(s, 12)
	}
	f.Fuzz(func(t *testing.T, s string, teacher int) {
		got, err := ParseLayerMap(s, teacher)
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) >= teacher {
			t.Fatalf("%q for %d layers: %v", s, teacher, got)
		}
		for i, l := range got {
			if l < 0 || l >= teacher || i > 0 && l <= got[i-1] {
				t.Fatalf("%q for %d layers: %v", s, teacher, got)
			}
		}
	})
}
