package distill

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// LayerMap returns which teacher layer each of the n layers of a student
// starts from: n indices spread evenly from the first teacher layer to the
// last, round(i·(L−1)/(n−1)) — every other layer when n = L/2, taking both
// ends. For BERT-base's 12 layers and n = 6 this is 0, 2, 4, 7, 9, 11,
// extract_distilbert.py's choice for DistilBERT; for 4 → 2 it is 0, 3; a
// one-layer student takes layer 0. n must be in [1, L).
func LayerMap(teacherLayers, n int) ([]int, error) {
	if n < 1 || n >= teacherLayers {
		return nil, fmt.Errorf("distill: a student of %d layers from a teacher of %d: want 1 ≤ layers < %d", n, teacherLayers, teacherLayers)
	}
	out := make([]int, n)
	if n == 1 {
		return out, nil
	}
	for i := range out {
		// Integer rounding of i·(L−1)/(n−1), halves up.
		out[i] = (2*i*(teacherLayers-1) + (n - 1)) / (2 * (n - 1))
	}
	return out, nil
}

// ParseLayerMap reads a comma-separated list of teacher layers ("0,2"),
// checking each against a teacher of teacherLayers layers; the list must be
// strictly increasing and shorter than the teacher.
func ParseLayerMap(s string, teacherLayers int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		i, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("distill: layer map %q: %q is not a layer number", s, f)
		}
		if i < 0 || i >= teacherLayers {
			return nil, fmt.Errorf("distill: layer map %q: layer %d outside the teacher's 0…%d", s, i, teacherLayers-1)
		}
		if len(out) > 0 && i <= out[len(out)-1] {
			return nil, fmt.Errorf("distill: layer map %q: layers must increase", s)
		}
		out = append(out, i)
	}
	if len(out) >= teacherLayers {
		return nil, fmt.Errorf("distill: layer map %q keeps all %d teacher layers: nothing to distil", s, teacherLayers)
	}
	return out, nil
}

// NewClassifierStudent returns a BertForSequenceClassification with
// len(layers) layers initialised from teacher: embeddings, encoder layer i
// from teacher layer layers[i] (see LayerMap), pooler and classifier. Its
// config is the teacher's (labels included) with fewer layers.
func NewClassifierStudent(teacher *bert.ForSequenceClassification, layers []int) (*bert.ForSequenceClassification, error) {
	cfg, err := studentConfig(teacher.Bert.Config, layers)
	if err != nil {
		return nil, err
	}
	s, err := bert.NewForSequenceClassification(cfg, tensor.NewRNG(0))
	if err != nil {
		return nil, fmt.Errorf("distill: student: %w", err)
	}
	return s, copyLayers(s.Params(), teacher.Params(), layers)
}

// NewMaskedLMStudent returns a BertForMaskedLM with len(layers) layers
// initialised from teacher as NewClassifierStudent does, with the teacher's
// masked-LM head (cls.predictions).
func NewMaskedLMStudent(teacher *bert.ForMaskedLM, layers []int) (*bert.ForMaskedLM, error) {
	cfg, err := studentConfig(teacher.Bert.Config, layers)
	if err != nil {
		return nil, err
	}
	s, err := bert.NewForMaskedLM(cfg, tensor.NewRNG(0))
	if err != nil {
		return nil, fmt.Errorf("distill: student: %w", err)
	}
	return s, copyLayers(s.Params(), teacher.Params(), layers)
}

// studentConfig is the teacher's config with len(layers) layers.
func studentConfig(cfg bert.Config, layers []int) (bert.Config, error) {
	if len(layers) == 0 || len(layers) >= cfg.NumLayers {
		return bert.Config{}, fmt.Errorf("distill: a student of %d layers from a teacher of %d: want 1 ≤ layers < %d", len(layers), cfg.NumLayers, cfg.NumLayers)
	}
	for _, l := range layers {
		if l < 0 || l >= cfg.NumLayers {
			return bert.Config{}, fmt.Errorf("distill: teacher layer %d outside its 0…%d", l, cfg.NumLayers-1)
		}
	}
	cfg.NumLayers = len(layers)
	return cfg, nil
}

// layerInfix is the part of a parameter name before an encoder layer's
// index (bert.encoder.layer.3.attention… → 3).
const layerInfix = "encoder.layer."

// copyLayers copies each student parameter from the teacher parameter of
// the same name, encoder layer i read from teacher layer layers[i].
func copyLayers(student, teacher []nn.NamedParam, layers []int) error {
	src := make(map[string]*tensor.Tensor, len(teacher))
	for _, p := range teacher {
		src[p.Name] = p.Var.Value
	}
	for _, p := range student {
		name, err := teacherName(p.Name, layers)
		if err != nil {
			return err
		}
		t, ok := src[name]
		if !ok {
			return fmt.Errorf("distill: the teacher has no %s for the student's %s", name, p.Name)
		}
		if !t.Shape().Equal(p.Var.Value.Shape()) {
			return fmt.Errorf("distill: teacher %s is %v, student %s is %v", name, t.Shape(), p.Name, p.Var.Value.Shape())
		}
		p.Var.Value.CopyFrom(t)
	}
	return nil
}

// teacherName maps a student parameter name to the teacher's.
func teacherName(name string, layers []int) (string, error) {
	at := strings.Index(name, layerInfix)
	if at < 0 {
		return name, nil
	}
	rest := name[at+len(layerInfix):]
	dot := strings.IndexByte(rest, '.')
	i, err := strconv.Atoi(rest[:max(dot, 0)])
	if dot < 0 || err != nil || i < 0 || i >= len(layers) {
		return "", fmt.Errorf("distill: student parameter %s: bad layer index", name)
	}
	return name[:at] + layerInfix + strconv.Itoa(layers[i]) + rest[dot:], nil
}
