package metrics

import (
	"fmt"
	"slices"
	"strings"
)

// Entity-level scoring of sequence labelling (named-entity recognition,
// chunking) with the semantics of seqeval and the CoNLL shared tasks'
// conlleval script: a tag sequence is cut into entities (type, first word,
// last word), and an entity counts as correct only when the prediction has
// one of the same type over exactly the same words.
//
// Two ways to read tags into entities:
//
//   - EntityDefault (seqeval's default mode, conlleval's rules extended to
//     E- and S- tags): lenient. An entity starts at a B- or S- tag, at an
//     I- or E- tag after O, E- or S-, and wherever the type changes; it ends
//     before B-, S- or O, after E- or S-, and where the type changes. So
//     "I-PER I-PER" after O is one PER entity (IOB1, as CoNLL-2003's
//     original files are tagged, reads correctly), and "B-PER I-LOC" is two.
//   - EntityStrict (seqeval's mode="strict" with a scheme): only the
//     transitions the scheme allows make an entity; a malformed one (IOB2's
//     "O I-PER", IOBES's "B-PER" not closed by E-PER) is no entity at all.

// TagScheme is a tagging scheme for EntityStrict mode.
type TagScheme uint8

// The tagging schemes.
const (
	// IOB2 (BIO): every entity starts with B-, continues with I-.
	IOB2 TagScheme = iota
	// IOB1: I- throughout, B- only to start an entity right after one of
	// the same type (CoNLL-2003's original files).
	IOB1
	// IOBES (BILOU with other letters): B- begin, I- inside, E- end, S- a
	// one-word entity.
	IOBES
)

var schemeNames = [...]string{IOB2: "IOB2", IOB1: "IOB1", IOBES: "IOBES"}

// String returns the scheme's name ("IOB2", …).
func (s TagScheme) String() string {
	if int(s) < len(schemeNames) {
		return schemeNames[s]
	}
	return fmt.Sprintf("TagScheme(%d)", int(s))
}

// ParseTagScheme parses "IOB2" (or "BIO"), "IOB1" or "IOBES" (or
// "BIOES"), in any case.
func ParseTagScheme(s string) (TagScheme, error) {
	switch strings.ToUpper(s) {
	case "IOB2", "BIO":
		return IOB2, nil
	case "IOB1":
		return IOB1, nil
	case "IOBES", "BIOES":
		return IOBES, nil
	}
	return 0, fmt.Errorf("metrics: unknown tag scheme %q (want IOB2, IOB1 or IOBES)", s)
}

// EntityMode chooses how tags are read into entities.
type EntityMode uint8

// The modes.
const (
	// EntityDefault is seqeval's default mode (conlleval's rules).
	EntityDefault EntityMode = iota
	// EntityStrict is seqeval's strict mode under EntityOptions.Scheme.
	EntityStrict
)

// EntityOptions configure Entities and EvaluateEntities. The zero value
// (or nil) is seqeval's default mode.
type EntityOptions struct {
	Mode EntityMode
	// Scheme is the tagging scheme of EntityStrict mode (zero: IOB2); the
	// default mode reads every scheme.
	Scheme TagScheme
}

// Tag is a parsed tag: a prefix letter ('O', 'B', 'I', 'E' or 'S') and an
// entity type ("" for O; "_" for a bare prefix such as "B", as seqeval
// names it).
type Tag struct {
	Prefix byte
	Type   string
}

// ParseTag parses "O", "B-PER", "I-ORG", "E-LOC", "S-MISC" (the type may
// itself contain '-') or a bare "B", "I", "E" or "S". Anything else is an
// error: seqeval warns and reads such tags anyway ("PER" as prefix P, type
// "ER"), which only hides a wrong file.
func ParseTag(s string) (Tag, error) {
	if s == "O" {
		return Tag{Prefix: 'O'}, nil
	}
	if s == "" || !strings.ContainsRune("BIES", rune(s[0])) {
		return Tag{}, fmt.Errorf("metrics: tag %q is not O or B-, I-, E-, S- followed by a type", s)
	}
	if len(s) == 1 {
		return Tag{Prefix: s[0], Type: "_"}, nil
	}
	if s[1] != '-' || len(s) == 2 {
		return Tag{}, fmt.Errorf("metrics: tag %q is not O or B-, I-, E-, S- followed by a type", s)
	}
	return Tag{Prefix: s[0], Type: s[2:]}, nil
}

// Entity is one entity of a sentence: its type and the words [Start, End).
type Entity struct {
	Type       string
	Start, End int
}

// Entities returns the entities of one sentence's tags, in order. A tag
// ParseTag refuses, or one outside the strict scheme, is an error naming
// its position.
func Entities(tags []string, opts *EntityOptions) ([]Entity, error) {
	if opts == nil {
		opts = &EntityOptions{}
	}
	parsed := make([]Tag, len(tags))
	for i, s := range tags {
		t, err := ParseTag(s)
		if err != nil {
			return nil, fmt.Errorf("%w (word %d)", err, i)
		}
		parsed[i] = t
	}
	if opts.Mode == EntityStrict {
		return strictEntities(parsed, opts.Scheme)
	}
	return defaultEntities(parsed), nil
}

// defaultEntities cuts tags into entities with seqeval's default rules:
// the sentence is followed by an O, and the state before it is O.
func defaultEntities(tags []Tag) []Entity {
	var out []Entity
	prev, begin := Tag{Prefix: 'O'}, 0
	for i := 0; i <= len(tags); i++ {
		cur := Tag{Prefix: 'O'}
		if i < len(tags) {
			cur = tags[i]
		}
		if chunkEnds(prev, cur) {
			out = append(out, Entity{Type: prev.Type, Start: begin, End: i})
		}
		if chunkStarts(prev, cur) {
			begin = i
		}
		prev = cur
	}
	return out
}

// chunkEnds reports whether an entity ends between prev and cur
// (seqeval's end_of_chunk).
func chunkEnds(prev, cur Tag) bool {
	switch p, c := prev.Prefix, cur.Prefix; {
	case p == 'E' || p == 'S':
		return true
	case (p == 'B' || p == 'I') && (c == 'B' || c == 'S' || c == 'O'):
		return true
	}
	return prev.Prefix != 'O' && prev.Type != cur.Type
}

// chunkStarts reports whether an entity starts at cur (seqeval's
// start_of_chunk).
func chunkStarts(prev, cur Tag) bool {
	switch p, c := prev.Prefix, cur.Prefix; {
	case c == 'B' || c == 'S':
		return true
	case (p == 'E' || p == 'S' || p == 'O') && (c == 'E' || c == 'I'):
		return true
	}
	return cur.Prefix != 'O' && prev.Type != cur.Type
}

// Strict mode: seqeval's scheme classes as transition tables. A pattern
// (prev prefixes, current prefixes, type condition) matches a pair of
// consecutive tags.
type typeCond uint8

const (
	sameType typeCond = 1 << iota
	diffType
	anyType = sameType | diffType
)

type pattern struct {
	prev, cur string // prefix letters
	cond      typeCond
}

type schemeRules struct {
	allowed              string
	start, inside, endAt []pattern
}

const anyPrefix = "IOBES"

var strictRules = [...]schemeRules{
	IOB2: {
		allowed: "IOB",
		start:   []pattern{{anyPrefix, "B", anyType}},
		inside:  []pattern{{"B", "I", sameType}, {"I", "I", sameType}},
		endAt: []pattern{{"I", "O", anyType}, {"I", "I", diffType}, {"I", "B", anyType},
			{"B", "O", anyType}, {"B", "I", diffType}, {"B", "B", anyType}},
	},
	IOB1: {
		allowed: "IOB",
		start: []pattern{{"O", "I", anyType}, {"I", "I", diffType}, {"B", "I", anyType},
			{"I", "B", sameType}, {"B", "B", sameType}},
		inside: []pattern{{"B", "I", sameType}, {"I", "I", sameType}},
		endAt: []pattern{{"I", "I", diffType}, {"I", "O", anyType}, {"I", "B", anyType},
			{"B", "O", anyType}, {"B", "I", diffType}, {"B", "B", sameType}},
	},
	IOBES: {
		allowed: "IOBES",
		start:   []pattern{{anyPrefix, "B", anyType}, {anyPrefix, "S", anyType}},
		inside:  []pattern{{"B", "I", sameType}, {"B", "E", sameType}, {"I", "I", sameType}, {"I", "E", sameType}},
		endAt:   []pattern{{"S", anyPrefix, anyType}, {"E", anyPrefix, anyType}},
	},
}

func matches(ps []pattern, prev, cur Tag) bool {
	for _, p := range ps {
		if !strings.ContainsRune(p.prev, rune(prev.Prefix)) || !strings.ContainsRune(p.cur, rune(cur.Prefix)) {
			continue
		}
		if same := prev.Type == cur.Type; same && p.cond&sameType != 0 || !same && p.cond&diffType != 0 {
			return true
		}
	}
	return false
}

// strictEntities follows seqeval's Tokens.entities: from each start, extend
// while the tags stay inside, and keep the entity if the scheme lets it end
// there.
func strictEntities(tags []Tag, scheme TagScheme) ([]Entity, error) {
	if int(scheme) >= len(strictRules) {
		return nil, fmt.Errorf("metrics: unknown tag scheme %v", scheme)
	}
	rules := &strictRules[scheme]
	ext := append(slices.Clip(tags), Tag{Prefix: 'O'}) // the sentence, then O
	// seqeval's tag of O is "_" in strict mode; only O compares with it,
	// and no pattern involving O tests types, so "" serves.
	var out []Entity
	prev := Tag{Prefix: 'O'}
	for i := 0; i < len(ext); {
		cur := ext[i]
		if !strings.ContainsRune(rules.allowed, rune(cur.Prefix)) {
			return nil, fmt.Errorf("metrics: tag %c-%s (word %d) is not allowed in %v", cur.Prefix, cur.Type, i, scheme)
		}
		if matches(rules.start, prev, cur) {
			end := i + 1
			for p := cur; end < len(ext) && matches(rules.inside, p, ext[end]); end++ {
				p = ext[end]
			}
			if matches(rules.endAt, ext[end-1], ext[end]) {
				out = append(out, Entity{Type: cur.Type, Start: i, End: end})
			}
			i = end
		} else {
			i++
		}
		prev = ext[i-1]
	}
	return out, nil
}

// EntityScore is the precision, recall and F1 of one entity type (or an
// average): Correct of the Predicted entities match one of the Support
// reference entities. A ratio whose denominator is zero is 0, as seqeval's
// zero_division default.
type EntityScore struct {
	Type                        string
	Precision, Recall, F1       float64
	Support, Predicted, Correct int
}

// EntityReport is seqeval's classification_report: per-type scores over
// the types of the references and the predictions (sorted), the micro
// average (overall counts: the figure papers report as "F1"), the macro
// average (unweighted mean over types) and the weighted one (by support),
// plus the token accuracy (tags equal as strings) and the sizes.
type EntityReport struct {
	Types                  []EntityScore
	Micro, Macro, Weighted EntityScore
	Accuracy               float64 // correct tags / tags
	Sentences, Tokens      int
}

// EvaluateEntities scores predicted tag sequences against reference ones,
// sentence by sentence (refs[i] and preds[i] must have the same length).
// An unparseable tag in either is an error naming the sentence and word.
func EvaluateEntities(refs, preds [][]string, opts *EntityOptions) (EntityReport, error) {
	if len(refs) != len(preds) {
		return EntityReport{}, fmt.Errorf("metrics: %d reference sentences but %d predicted", len(refs), len(preds))
	}
	type key struct {
		sent int
		e    Entity
	}
	gold := map[key]bool{}
	counts := map[string]*EntityScore{}
	count := func(typ string) *EntityScore {
		if c := counts[typ]; c != nil {
			return c
		}
		c := &EntityScore{Type: typ}
		counts[typ] = c
		return c
	}
	r := EntityReport{Sentences: len(refs)}
	var correctTags int
	for s := range refs {
		if len(refs[s]) != len(preds[s]) {
			return EntityReport{}, fmt.Errorf("metrics: sentence %d has %d reference tags but %d predicted", s, len(refs[s]), len(preds[s]))
		}
		ge, err := Entities(refs[s], opts)
		if err != nil {
			return EntityReport{}, fmt.Errorf("%w in reference sentence %d", err, s)
		}
		pe, err := Entities(preds[s], opts)
		if err != nil {
			return EntityReport{}, fmt.Errorf("%w in predicted sentence %d", err, s)
		}
		for _, e := range ge {
			gold[key{s, e}] = true
			count(e.Type).Support++
		}
		for _, e := range pe {
			count(e.Type).Predicted++
			if gold[key{s, e}] {
				count(e.Type).Correct++
			}
		}
		for i := range refs[s] {
			if refs[s][i] == preds[s][i] {
				correctTags++
			}
		}
		r.Tokens += len(refs[s])
	}
	if r.Tokens > 0 {
		r.Accuracy = float64(correctTags) / float64(r.Tokens)
	}
	types := make([]string, 0, len(counts))
	for t := range counts {
		types = append(types, t)
	}
	slices.Sort(types)
	r.Micro, r.Macro, r.Weighted = EntityScore{Type: "micro avg"}, EntityScore{Type: "macro avg"}, EntityScore{Type: "weighted avg"}
	for _, t := range types {
		c := counts[t]
		c.score()
		r.Types = append(r.Types, *c)
		for _, avg := range []*EntityScore{&r.Micro, &r.Macro, &r.Weighted} {
			avg.Support += c.Support
			avg.Predicted += c.Predicted
			avg.Correct += c.Correct
		}
		r.Macro.Precision += c.Precision
		r.Macro.Recall += c.Recall
		r.Macro.F1 += c.F1
		w := float64(c.Support)
		r.Weighted.Precision += w * c.Precision
		r.Weighted.Recall += w * c.Recall
		r.Weighted.F1 += w * c.F1
	}
	r.Micro.score()
	if n := float64(len(types)); n > 0 {
		r.Macro.Precision, r.Macro.Recall, r.Macro.F1 = r.Macro.Precision/n, r.Macro.Recall/n, r.Macro.F1/n
	}
	if w := float64(r.Weighted.Support); w > 0 {
		r.Weighted.Precision, r.Weighted.Recall, r.Weighted.F1 = r.Weighted.Precision/w, r.Weighted.Recall/w, r.Weighted.F1/w
	} else {
		r.Weighted.Precision, r.Weighted.Recall, r.Weighted.F1 = 0, 0, 0
	}
	return r, nil
}

// score fills precision, recall and F1 from the counts.
func (c *EntityScore) score() {
	c.Precision, c.Recall, c.F1 = 0, 0, 0
	if c.Predicted > 0 {
		c.Precision = float64(c.Correct) / float64(c.Predicted)
	}
	if c.Support > 0 {
		c.Recall = float64(c.Correct) / float64(c.Support)
	}
	if s := c.Precision + c.Recall; s > 0 {
		c.F1 = 2 * c.Precision * c.Recall / s
	}
}

// String formats r as seqeval's classification_report with four digits,
// followed by conlleval's summary line.
func (r EntityReport) String() string {
	width := len("weighted avg")
	for _, t := range r.Types {
		width = max(width, len(t.Type))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%*s  %9s %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score", "support", "predicted")
	row := func(s EntityScore) {
		fmt.Fprintf(&b, "%*s  %9.4f %9.4f %9.4f %9d %9d\n", width, s.Type, s.Precision, s.Recall, s.F1, s.Support, s.Predicted)
	}
	for _, t := range r.Types {
		row(t)
	}
	b.WriteByte('\n')
	row(r.Micro)
	row(r.Macro)
	row(r.Weighted)
	fmt.Fprintf(&b, "\nprocessed %d tokens with %d phrases; found: %d phrases; correct: %d.\naccuracy: %6.2f%%; precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f\n",
		r.Tokens, r.Micro.Support, r.Micro.Predicted, r.Micro.Correct,
		100*r.Accuracy, 100*r.Micro.Precision, 100*r.Micro.Recall, 100*r.Micro.F1)
	return b.String()
}
