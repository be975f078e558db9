package distill

import (
	"github.com/glossa-ai/glossa/models/bert"
	"github.com/glossa-ai/glossa/nn"
)

// savedModel is a BERT training class (ForSequenceClassification,
// ForMaskedLM) as a student's folder holds it.
type savedModel interface {
	nn.Module
	Save(dir string) error
}

// saveStudent writes m's folder into dir, then the extra files.
func saveStudent(m savedModel, dir string, extra func(dir string) error) error {
	if err := m.Save(dir); err != nil {
		return err
	}
	if extra != nil {
		return extra(dir)
	}
	return nil
}

// loadStudent reads the weights of a folder written by saveStudent back
// into m.
func loadStudent(m savedModel, dir string) error { return bert.LoadParams(dir, m.Params()) }
