package bert

import (
	"fmt"

	"github.com/glossa-ai/glossa/autograd"
	"github.com/glossa-ai/glossa/nn"
	"github.com/glossa-ai/glossa/tensor"
)

// ELECTRA (Clark et al., 2020) pre-trains a BERT encoder, the
// discriminator, to tell which tokens of its input a small masked-LM
// generator replaced. Both networks are ELECTRA models (Variant Electra):
// BERT's layers under electra.*, no pooler, embeddings of width E that
// embeddings_project maps to the layers' width when they differ. The two
// heads are Hugging Face's:
//
//	discriminator (ElectraForPreTraining)
//	  logit = w₂·act(W₁·x + b₁) + b₂            discriminator_predictions.{dense, dense_prediction}
//	generator (ElectraForMaskedLM)
//	  h = LayerNorm(GELU(W·x + b))               generator_predictions.{dense [E, C], LayerNorm [E]}
//	  logits = h·Eᵀ + bias                       generator_lm_head, weight tied to the word embeddings

// ElectraDiscriminator is ElectraForPreTraining: an ElectraModel and the
// replaced-token-detection head, one logit per position (> 0: replaced).
type ElectraDiscriminator struct {
	Electra    *Model        // electra.*
	Dense      *nn.Linear    // discriminator_predictions.dense [C, C]
	Act        nn.Activation // hidden_act
	Prediction *nn.Linear    // discriminator_predictions.dense_prediction [1, C]
	headed
}

// ElectraGenerator is ElectraForMaskedLM: an ElectraModel and the
// generator's masked-LM head.
type ElectraGenerator struct {
	Electra *Model   // electra.*
	MLM     *MLMHead // generator_predictions.* and generator_lm_head (GELU; decoder tied)
	headed
}

func (m *ElectraDiscriminator) layout() layout {
	return layout{suffix: "ForPreTraining", variants: electraOnly, base: m.Electra,
		parts: []part{{"discriminator_predictions.dense", m.Dense}, {"discriminator_predictions.dense_prediction", m.Prediction}}}
}

func (m *ElectraGenerator) layout() layout {
	return layout{suffix: "ForMaskedLM", variants: electraOnly, heads: HeadMLM, base: m.Electra, parts: m.MLM.parts(Electra)}
}

func newElectraDiscriminator(cfg Config) *ElectraDiscriminator {
	C := cfg.HiddenSize
	m := &ElectraDiscriminator{Electra: newModel(cfg, false), Dense: zeroLinear(C, C), Act: cfg.Activation,
		Prediction: zeroLinear(C, 1)}
	m.headed = headed{m}
	return m
}

func newElectraGenerator(cfg Config) *ElectraGenerator {
	m := &ElectraGenerator{Electra: newModel(cfg, false)}
	m.MLM, m.headed = newMLMHead(cfg, m.Electra.Embeddings.Word.Weight), headed{m}
	return m
}

// NewElectraDiscriminator returns an ElectraForPreTraining with HF's random
// initialisation; cfg must have model_type "electra".
func NewElectraDiscriminator(cfg Config, rng *tensor.RNG) (*ElectraDiscriminator, error) {
	return newInit(cfg, rng, newElectraDiscriminator)
}

// NewElectraGenerator returns an ElectraForMaskedLM with HF's random
// initialisation; cfg must have model_type "electra".
func NewElectraGenerator(cfg Config, rng *tensor.RNG) (*ElectraGenerator, error) {
	return newInit(cfg, rng, newElectraGenerator)
}

// LoadElectraDiscriminator reads an ElectraForPreTraining from a model
// folder (Hugging Face's or Glossa's).
func LoadElectraDiscriminator(dir string) (*ElectraDiscriminator, error) {
	return loadFolder(dir, newElectraDiscriminator)
}

// LoadElectraGenerator reads an ElectraForMaskedLM from a model folder.
func LoadElectraGenerator(dir string) (*ElectraGenerator, error) {
	return loadFolder(dir, newElectraGenerator)
}

// Forward returns the encoder's output and the replaced-token logits [B, T].
func (m *ElectraDiscriminator) Forward(in Input, opts *ForwardOptions) (*Output, *autograd.Var, error) {
	out, err := m.Electra.Forward(in, opts)
	if err != nil {
		return nil, nil, err
	}
	h := nn.Activate(m.Act, m.Dense.Forward(out.LastHidden))        // [B, T, C]
	logits := autograd.Reshape(m.Prediction.Forward(h), in.B, in.T) // [B, T]
	return out, logits, nil
}

// Loss is Hugging Face's ElectraForPreTraining loss: the binary
// cross-entropy of logits [B, T] against labels [B, T] (1: the token was
// replaced), averaged over the positions whose mask entry is 1 (the
// attention mask; nil: every position).
func (m *ElectraDiscriminator) Loss(logits *autograd.Var, labels, mask []int) (*autograd.Var, error) {
	n := logits.Value.Numel()
	if len(labels) != n || mask != nil && len(mask) != n {
		return nil, fmt.Errorf("bert: discriminator loss: %d labels and %d mask entries for %d logits", len(labels), len(mask), n)
	}
	y := make([]float32, n)
	var w []float32
	if mask != nil {
		w = make([]float32, n)
	}
	for i, l := range labels {
		if l != 0 && l != 1 {
			return nil, fmt.Errorf("bert: discriminator label %d at %d (want 0 or 1)", l, i)
		}
		y[i] = float32(l)
		if mask != nil && mask[i] == 1 {
			w[i] = 1
		}
	}
	loss, err := autograd.BCEWithLogits(logits, y, w)
	if err != nil {
		return nil, fmt.Errorf("bert: discriminator loss: %w", err)
	}
	return loss, nil
}

// Forward returns the encoder's output and the masked-LM logits [B, T, V].
func (m *ElectraGenerator) Forward(in Input, opts *ForwardOptions) (*Output, *autograd.Var, error) {
	out, err := m.Electra.Forward(in, opts)
	if err != nil {
		return nil, nil, err
	}
	return out, m.MLM.Forward(out.LastHidden), nil
}

// ForwardMasked returns the masked-LM logits [M, V] of the positions whose
// label is not -100, in order, and those flat positions b·T+t (the loss
// and gradients equal Forward's, as ForPreTraining.ForwardMasked). It is an
// error when no position is labelled.
func (m *ElectraGenerator) ForwardMasked(in Input, labels []int) (logits *autograd.Var, positions []int, err error) {
	_, rows, positions, err := forwardMasked(m.Electra, in, labels, nil)
	switch {
	case err != nil:
		return nil, nil, err
	case positions == nil:
		return nil, nil, fmt.Errorf("bert: generator: no masked position in the batch")
	}
	return m.MLM.Forward(rows), positions, nil // [M, V]
}

// Loss is the masked-LM cross-entropy of logits [..., V] against labels
// (one per row; -100 ignores a row), averaged over the labelled rows.
func (m *ElectraGenerator) Loss(logits *autograd.Var, labels []int) (*autograd.Var, error) {
	return crossEntropy("masked-LM", logits, labels, tensor.CrossEntropyOptions{})
}

// ShareEmbeddings makes g use d's embeddings (word, position and token
// type tables and their LayerNorm), as ELECTRA trains them: one set of
// Vars that both networks' gradients reach. Their widths must match.
func (g *ElectraGenerator) ShareEmbeddings(d *ElectraDiscriminator) error {
	ge, de := g.Electra.Config, d.Electra.Config
	if ge.EmbedDim() != de.EmbedDim() || ge.VocabSize != de.VocabSize || ge.MaxPositions != de.MaxPositions || ge.TypeVocab != de.TypeVocab {
		return fmt.Errorf("bert: generator embeddings %d×%d (%d positions, %d types) do not match the discriminator's %d×%d (%d, %d)",
			ge.VocabSize, ge.EmbedDim(), ge.MaxPositions, ge.TypeVocab, de.VocabSize, de.EmbedDim(), de.MaxPositions, de.TypeVocab)
	}
	g.Electra.Embeddings = d.Electra.Embeddings
	g.MLM.Decoder = d.Electra.Embeddings.Word.Weight
	return nil
}
