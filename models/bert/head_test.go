package bert

import (
	"slices"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// saver is what every trainable class offers through its class and layout.
type saver interface {
	nn.Module
	Save(dir string) error
}

// TestHeadClasses checks every trainable class against its class line:
// New refuses the variants it does not build, Save writes its Hugging Face
// architecture, and Load reads back the same parameters under the same names.
func TestHeadClasses(t *testing.T) {
	bertCfg, electraCfg := tinyConfig(), electraTestConfig()
	type build func(Config) (saver, error)
	type load func(string) (saver, error)
	wrap := func(m saver, err error) (saver, error) { return m, err }
	rng := func() *tensor.RNG { return tensor.NewRNG(7) }
	for _, tc := range []struct {
		name     string
		variants []Variant
		suffix   string // the saved architecture after the variant's prefix
		new      build
		load     load
	}{
		{"Model", []Variant{Bert, Electra}, "Model",
			func(c Config) (saver, error) { return wrap(New(c, rng())) },
			func(d string) (saver, error) { return wrap(Load(d)) }},
		{"ForPreTraining", []Variant{Bert}, "ForPreTraining",
			func(c Config) (saver, error) { return wrap(NewForPreTraining(c, rng())) },
			func(d string) (saver, error) { return wrap(LoadForPreTraining(d)) }},
		{"ForMaskedLM", []Variant{Bert}, "ForMaskedLM",
			func(c Config) (saver, error) { return wrap(NewForMaskedLM(c, rng())) },
			func(d string) (saver, error) { return wrap(LoadForMaskedLM(d)) }},
		{"ForSequenceClassification", []Variant{Bert, Electra}, "ForSequenceClassification",
			func(c Config) (saver, error) { return wrap(NewForSequenceClassification(c, rng())) },
			func(d string) (saver, error) { return wrap(LoadForSequenceClassification(d)) }},
		{"ForTokenClassification", []Variant{Bert}, "ForTokenClassification",
			func(c Config) (saver, error) { return wrap(NewForTokenClassification(c, rng())) },
			func(d string) (saver, error) { return wrap(LoadForTokenClassification(d)) }},
		{"ForQuestionAnswering", []Variant{Bert}, "ForQuestionAnswering",
			func(c Config) (saver, error) { return wrap(NewForQuestionAnswering(c, rng())) },
			func(d string) (saver, error) { return wrap(LoadForQuestionAnswering(d)) }},
		{"ElectraDiscriminator", []Variant{Electra}, "ForPreTraining",
			func(c Config) (saver, error) { return wrap(NewElectraDiscriminator(c, rng())) },
			func(d string) (saver, error) { return wrap(LoadElectraDiscriminator(d)) }},
		{"ElectraGenerator", []Variant{Electra}, "ForMaskedLM",
			func(c Config) (saver, error) { return wrap(NewElectraGenerator(c, rng())) },
			func(d string) (saver, error) { return wrap(LoadElectraGenerator(d)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cfg := range []Config{bertCfg, electraCfg} {
				if err := cfg.Validate(); err != nil {
					t.Fatal(err)
				}
				m, err := tc.new(cfg)
				if !slices.Contains(tc.variants, cfg.Variant) {
					if err == nil || !strings.HasPrefix(err.Error(), "bert: ") || !strings.Contains(err.Error(), cfg.Variant.String()) {
						t.Errorf("New of a %s config: error %v", cfg.Variant, err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				if err := m.Save(dir); err != nil {
					t.Fatal(err)
				}
				back, err := tc.load(dir)
				if err != nil {
					t.Fatal(err)
				}
				got, want := back.Params(), m.Params()
				if len(got) != len(want) {
					t.Fatalf("%s: loaded %d parameters, saved %d", cfg.Variant, len(got), len(want))
				}
				for i := range want {
					if got[i].Name != want[i].Name || !slices.Equal(got[i].Var.Value.Data(), want[i].Var.Value.Data()) {
						t.Fatalf("%s: parameter %d: loaded %q, saved %q (or their values differ)", cfg.Variant, i, got[i].Name, want[i].Name)
					}
				}
				c, err := ReadConfig(dir + "/config.json")
				if err != nil {
					t.Fatal(err)
				}
				arch := cfg.Variant.names().class + tc.suffix
				if !slices.Equal(c.Architectures, []string{arch}) {
					t.Errorf("%s: saved architectures %q, want [%s]", cfg.Variant, c.Architectures, arch)
				}
			}
		})
	}
}

// TestLoadRefusesOtherVariants checks that a class refuses a folder of a
// variant it does not build, naming the variant and the folder.
func TestLoadRefusesOtherVariants(t *testing.T) {
	d, err := NewElectraDiscriminator(electraTestConfig(), tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := d.Save(dir); err != nil {
		t.Fatal(err)
	}
	for name, load := range map[string]func(string) error{
		"ForQuestionAnswering":   func(d string) error { _, err := LoadForQuestionAnswering(d); return err },
		"ForTokenClassification": func(d string) error { _, err := LoadForTokenClassification(d); return err },
		"ForMaskedLM":            func(d string) error { _, err := LoadForMaskedLM(d); return err },
	} {
		if err := load(dir); err == nil || !strings.Contains(err.Error(), "electra") || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s of an ELECTRA folder: error %v", name, err)
		}
	}
}
