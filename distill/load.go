package distill

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/glossa-ai/glossa/finetune"
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/tensor"
)

// StudentSpec says where a student comes from: either Layers (or an
// explicit LayerMap) of the teacher's own layers, or a model folder Dir.
type StudentSpec struct {
	// Layers is the student's depth when it is cut from the teacher; its
	// layers are LayerMap(teacher layers, Layers) unless LayerMap is set.
	Layers int
	// LayerMap lists the teacher layers to keep, in order (nil: from
	// Layers).
	LayerMap []int
	// Dir is a BERT folder to start the student from instead. For
	// classification, a BertForSequenceClassification with the teacher's
	// classes keeps its head; any other BERT folder gets a fresh head, as
	// finetune.NewClassifier gives it.
	Dir string
	// Seed initialises a fresh head (Dir only).
	Seed uint64
}

// layers returns the teacher layers of s for a teacher of L layers.
func (s StudentSpec) layers(L int) ([]int, error) {
	switch {
	case s.Dir != "" && (s.Layers != 0 || s.LayerMap != nil):
		return nil, errors.New("distill: give a student folder or a number of layers, not both")
	case s.Dir != "":
		return nil, nil
	case s.LayerMap != nil:
		if s.Layers != 0 && s.Layers != len(s.LayerMap) {
			return nil, fmt.Errorf("distill: a layer map of %d layers for a student of %d", len(s.LayerMap), s.Layers)
		}
		if _, err := studentConfig(bert.Config{NumLayers: L}, s.LayerMap); err != nil {
			return nil, err
		}
		return s.LayerMap, nil
	case s.Layers == 0:
		return nil, errors.New("distill: no student: give a number of layers or a folder")
	}
	return LayerMap(L, s.Layers)
}

// TeacherLabels returns the classes of a classifier teacher in id order.
func TeacherLabels(teacher *bert.Encoder) []string {
	out := make([]string, teacher.Config.Labels())
	for i := range out {
		out[i] = teacher.Config.LabelName(i)
	}
	return out
}

// LoadClassifierStudent builds the student of a classification teacher
// folder as spec says, and returns it with the teacher layers it was cut
// from (nil for a student folder). Cutting needs a BERT teacher with a
// sequence classifier.
func LoadClassifierStudent(teacherDir string, spec StudentSpec) (*bert.ForSequenceClassification, []int, error) {
	tcfg, layers, err := plan(teacherDir, spec)
	if err != nil {
		return nil, nil, err
	}
	if spec.Dir != "" {
		s, err := loadClassifierFolder(spec.Dir, tcfg, spec.Seed)
		return s, nil, err
	}
	if !isClass(tcfg, "ForSequenceClassification") {
		return nil, nil, fmt.Errorf("distill: teacher %s is not a sequence classifier (architectures %v): fine-tune it first (glossa finetune --task classify)", teacherDir, tcfg.Architectures)
	}
	t, err := bert.LoadForSequenceClassification(teacherDir)
	if err != nil {
		return nil, nil, fmt.Errorf("distill: teacher: %w", err)
	}
	s, err := NewClassifierStudent(t, layers)
	return s, layers, err
}

// loadClassifierFolder reads a student folder for a teacher of config t:
// a classifier of the same classes whole, anything else with a fresh head.
func loadClassifierFolder(dir string, t bert.Config, seed uint64) (*bert.ForSequenceClassification, error) {
	cfg, err := bert.ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("distill: student: %w", err)
	}
	labels := make([]string, t.Labels())
	for i := range labels {
		labels[i] = t.LabelName(i)
	}
	if isClass(cfg, "ForSequenceClassification") && cfg.Labels() == t.Labels() {
		same := true
		for i := range labels {
			same = same && cfg.LabelName(i) == labels[i]
		}
		if same {
			s, err := bert.LoadForSequenceClassification(dir)
			if err != nil {
				return nil, fmt.Errorf("distill: student: %w", err)
			}
			return s, nil
		}
	}
	s, err := finetune.NewClassifier(dir, labels, tensor.NewRNG(seed))
	if err != nil {
		return nil, fmt.Errorf("distill: student: %w", err)
	}
	return s, nil
}

// LoadMaskedLMStudent builds the student of a masked-LM teacher folder
// (BertForMaskedLM or BertForPreTraining) as spec says; a student folder
// must hold a masked-LM head too.
func LoadMaskedLMStudent(teacherDir string, spec StudentSpec) (*bert.ForMaskedLM, []int, error) {
	_, layers, err := plan(teacherDir, spec)
	if err != nil {
		return nil, nil, err
	}
	if spec.Dir != "" {
		s, err := bert.LoadForMaskedLM(spec.Dir)
		if err != nil {
			return nil, nil, fmt.Errorf("distill: student (a BERT masked LM): %w", err)
		}
		return s, nil, nil
	}
	t, err := bert.LoadForMaskedLM(teacherDir)
	if err != nil {
		return nil, nil, fmt.Errorf("distill: teacher (a BERT masked LM): %w", err)
	}
	s, err := NewMaskedLMStudent(t, layers)
	return s, layers, err
}

// plan reads the teacher's config and the layers spec cuts from it (nil
// for a student folder); cutting needs a BERT teacher.
func plan(teacherDir string, spec StudentSpec) (bert.Config, []int, error) {
	tcfg, err := bert.ReadConfig(filepath.Join(teacherDir, "config.json"))
	if err != nil {
		return bert.Config{}, nil, fmt.Errorf("distill: teacher: %w", err)
	}
	layers, err := spec.layers(tcfg.NumLayers)
	if err != nil {
		return bert.Config{}, nil, err
	}
	if layers != nil && tcfg.Variant != bert.Bert {
		return bert.Config{}, nil, fmt.Errorf("distill: teacher %s is a %s model: cutting a student from its layers needs a BERT teacher (give a student folder)", teacherDir, tcfg.Variant)
	}
	return tcfg, layers, nil
}

// isClass reports whether cfg's architectures name a class ending in suffix.
func isClass(cfg bert.Config, suffix string) bool {
	return slices.ContainsFunc(cfg.Architectures, func(a string) bool { return strings.HasSuffix(a, suffix) })
}
