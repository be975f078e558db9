package constrain

import (
	"encoding/binary"
	"slices"
)

// Limits of the generated output.
const (
	// MaxDepth bounds the nesting of the output (frames of the automaton).
	MaxDepth = 32
	// maxIndent bounds the spaces and tabs after a newline between tokens.
	maxIndent = 20
	// maxMachines bounds the alternatives (anyOf branches) followed at once.
	maxMachines = 32
	// Digits of a number: integer part, fraction, exponent.
	maxIntDigits, maxFracDigits, maxExpDigits = 15, 15, 3
)

// frameKind is what a frame of the automaton is reading.
type frameKind uint8

const (
	fDoc     frameKind = iota // the whole output: one value
	fValue                    // the start of a value of node n (whitespace first)
	fObject                   // inside an object
	fArray                    // inside an array
	fString                   // inside a string (a value or an object key)
	fNumber                   // inside a number
	fLiteral                  // inside an enum/const value
	fKeyword                  // inside true, false or null
)

// Phases of each frame kind.
const (
	docBefore uint8 = iota // fDoc: no value yet
	docAfter               // fDoc: the value has started (or ended)
)

const (
	objOpen    uint8 = iota // after '{'
	objKey                  // inside a declared key (matching candidates)
	objKeyFree              // a free key's string frame is above
	objColon                // after a key, before ':'
	objValue                // a value frame is above
	objAfter                // after a value, before ',' or '}'
	objComma                // after ','
)

const (
	arrOpen  uint8 = iota // after '['
	arrValue              // an item's frame is above
	arrAfter              // after an item
	arrComma              // after ','
)

const (
	strNormal uint8 = iota
	strEscape       // after '\'
	strHex          // inside \uXXXX; aux hex digits left
	strUTF8         // inside a multi-byte character; aux bytes left, cand the next byte's range
)

const (
	numStart uint8 = iota
	numMinus
	numZero // "0" or "-0"
	numInt
	numDot
	numFrac
	numExp
	numExpSign
	numExpDigits
)

var keywords = [...]string{"true", "false", "null"}

// frame is one level of the automaton's stack.
type frame struct {
	n     *node
	cand  uint64 // object: key candidates; literal: value candidates; string: UTF-8 range lo | hi<<8
	seen  uint64 // object: properties seen
	count int32  // array items; string characters (when bounded); key, literal or keyword position; number digits
	kind  frameKind
	phase uint8
	ws    uint8 // the whitespace since the last token (see wsStep)
	aux   uint8 // string: bytes left; number: 1 if integer only; keyword: which; object: property + 1 (0: free key)
	key   bool  // string: an object key
}

// result of feeding a byte to a machine.
type result uint8

const (
	rFail   result = iota
	rOK            // consumed
	rExpand        // the top frame is a value of an anyOf node: branch first
)

func isWS(c byte) bool    { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

func allBits(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// wsStep feeds whitespace c to frame f. Between two tokens of JSON the
// whitespace is nothing, one space, or a newline and up to maxIndent spaces
// or tabs (as llama.cpp's JSON grammar allows), so that a model cannot pad
// its output without end. f.ws is 0 before any, 1 after a space, 2+n after
// a newline and n indentation bytes.
func wsStep(f *frame, c byte) result {
	switch {
	case f.ws == 0 && c == ' ':
		f.ws = 1
	case f.ws == 0 && c == '\n':
		f.ws = 2
	case f.ws >= 2 && (c == ' ' || c == '\t') && f.ws < 2+maxIndent:
		f.ws++
	default:
		return rFail
	}
	return rOK
}

func push(fs []frame, f frame) ([]frame, result) {
	if len(fs) >= MaxDepth {
		return fs, rFail
	}
	return append(fs, f), rOK
}

// pop removes the finished top frame and tells its parent a value ended.
func pop(fs []frame) []frame {
	fs = fs[:len(fs)-1]
	top := &fs[len(fs)-1]
	switch top.kind {
	case fObject:
		switch top.phase {
		case objKeyFree:
			top.phase = objColon
		case objValue:
			if top.aux > 0 {
				top.seen |= 1 << (top.aux - 1)
			}
			top.phase = objAfter
		}
	case fArray:
		top.count++
		top.phase = arrAfter
	}
	return fs
}

func numComplete(phase uint8) bool {
	return phase == numZero || phase == numInt || phase == numFrac || phase == numExpDigits
}

// litComplete reports whether some candidate literal ends at the frame's
// position.
func litComplete(f *frame) bool {
	for i, l := range f.n.lits {
		if f.cand&(1<<i) != 0 && len(l) == int(f.count) {
			return true
		}
	}
	return false
}

// litLonger reports whether some candidate literal goes on past the frame's
// position.
func litLonger(f *frame) bool {
	for i, l := range f.n.lits {
		if f.cand&(1<<i) != 0 && len(l) > int(f.count) {
			return true
		}
	}
	return false
}

// step feeds c to the machine fs, modifying it in place (it may grow), and
// returns the machine and the result. With rExpand, c is not consumed and the
// top frame is a value of an anyOf node.
func step(fs []frame, c byte) ([]frame, result) {
	for {
		top := &fs[len(fs)-1]
		switch top.kind {
		case fDoc:
			if top.phase == docAfter {
				return fs, rFail
			}
			if isWS(c) {
				return fs, wsStep(top, c)
			}
			top.phase = docAfter
			fs = append(fs, frame{kind: fValue, n: top.n})
			continue

		case fValue:
			if isWS(c) {
				return fs, wsStep(top, c)
			}
			n := top.n
			if len(n.anyOf) > 0 {
				return fs, rExpand
			}
			if n.hasLits {
				*top = frame{kind: fLiteral, n: n, cand: allBits(len(n.lits))}
				continue
			}
			switch {
			case c == '{' && n.types&tObject != 0:
				*top = frame{kind: fObject, n: n, phase: objOpen}
				return fs, rOK
			case c == '[' && n.types&tArray != 0:
				*top = frame{kind: fArray, n: n, phase: arrOpen}
				return fs, rOK
			case c == '"' && n.types&tString != 0:
				*top = frame{kind: fString, n: n, phase: strNormal}
				return fs, rOK
			case (c == '-' || isDigit(c)) && n.types&(tNumber|tInteger) != 0:
				f := frame{kind: fNumber, n: n, phase: numStart}
				if n.types&tNumber == 0 {
					f.aux = 1
				}
				*top = f
				continue
			case c == 't' && n.types&tBoolean != 0:
				*top = frame{kind: fKeyword, aux: 0}
				continue
			case c == 'f' && n.types&tBoolean != 0:
				*top = frame{kind: fKeyword, aux: 1}
				continue
			case c == 'n' && n.types&tNull != 0:
				*top = frame{kind: fKeyword, aux: 2}
				continue
			}
			return fs, rFail

		case fObject:
			n := top.n
			if top.phase != objKey {
				if isWS(c) {
					return fs, wsStep(top, c)
				}
				top.ws = 0
			}
			switch top.phase {
			case objOpen, objComma:
				if c == '}' && top.phase == objOpen {
					if n.required != 0 {
						return fs, rFail
					}
					return pop(fs), rOK
				}
				if c != '"' {
					return fs, rFail
				}
				if n.free != nil {
					top.phase = objKeyFree
					return push(fs, frame{kind: fString, key: true})
				}
				unseen := allBits(len(n.props)) &^ top.seen
				if unseen == 0 {
					return fs, rFail
				}
				top.phase, top.cand, top.count = objKey, unseen, 0
				return fs, rOK
			case objKey:
				pos := int(top.count)
				if c == '"' {
					for i, p := range n.props {
						if top.cand&(1<<i) != 0 && len(p.enc) == pos {
							top.phase, top.aux = objColon, uint8(i+1)
							return fs, rOK
						}
					}
				}
				var next uint64
				for i, p := range n.props {
					if top.cand&(1<<i) != 0 && pos < len(p.enc) && p.enc[pos] == c {
						next |= 1 << i
					}
				}
				if next == 0 {
					return fs, rFail
				}
				top.cand = next
				top.count++
				return fs, rOK
			case objColon:
				if c != ':' {
					return fs, rFail
				}
				top.phase = objValue
				vn := n.free
				if top.aux > 0 {
					vn = n.props[top.aux-1].node
				}
				return push(fs, frame{kind: fValue, n: vn})
			case objAfter:
				switch c {
				case ',':
					if n.free == nil && allBits(len(n.props))&^top.seen == 0 {
						return fs, rFail
					}
					top.phase = objComma
					return fs, rOK
				case '}':
					if top.seen&n.required != n.required {
						return fs, rFail
					}
					return pop(fs), rOK
				}
			}
			return fs, rFail

		case fArray:
			n := top.n
			if isWS(c) {
				return fs, wsStep(top, c)
			}
			top.ws = 0
			switch top.phase {
			case arrOpen, arrComma:
				if c == ']' && top.phase == arrOpen {
					if n.minItems > 0 {
						return fs, rFail
					}
					return pop(fs), rOK
				}
				if top.phase == arrOpen && n.maxItems == 0 {
					return fs, rFail
				}
				top.phase = arrValue
				var r result
				if fs, r = push(fs, frame{kind: fValue, n: n.items}); r != rOK {
					return fs, r
				}
				continue
			case arrAfter:
				switch c {
				case ',':
					if n.maxItems >= 0 && int(top.count) >= n.maxItems {
						return fs, rFail
					}
					top.phase = arrComma
					return fs, rOK
				case ']':
					if int(top.count) < n.minItems {
						return fs, rFail
					}
					return pop(fs), rOK
				}
			}
			return fs, rFail

		case fString:
			n := top.n
			counts := !top.key && n.counts()
			switch top.phase {
			case strNormal:
				switch {
				case c == '"':
					if counts && int(top.count) < n.minLen {
						return fs, rFail
					}
					return pop(fs), rOK
				case c < 0x20:
					return fs, rFail
				}
				if counts {
					if n.maxLen >= 0 && int(top.count) >= n.maxLen {
						return fs, rFail
					}
					top.count++
				}
				switch {
				case c == '\\':
					top.phase = strEscape
				case c < 0x80:
				case c >= 0xC2 && c <= 0xDF:
					top.phase, top.aux, top.cand = strUTF8, 1, 0x80|0xBF<<8
				case c == 0xE0:
					top.phase, top.aux, top.cand = strUTF8, 2, 0xA0|0xBF<<8
				case c == 0xED: // no surrogates
					top.phase, top.aux, top.cand = strUTF8, 2, 0x80|0x9F<<8
				case c >= 0xE1 && c <= 0xEF:
					top.phase, top.aux, top.cand = strUTF8, 2, 0x80|0xBF<<8
				case c == 0xF0:
					top.phase, top.aux, top.cand = strUTF8, 3, 0x90|0xBF<<8
				case c >= 0xF1 && c <= 0xF3:
					top.phase, top.aux, top.cand = strUTF8, 3, 0x80|0xBF<<8
				case c == 0xF4:
					top.phase, top.aux, top.cand = strUTF8, 3, 0x80|0x8F<<8
				default:
					return fs, rFail
				}
				return fs, rOK
			case strEscape:
				switch c {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					top.phase = strNormal
					return fs, rOK
				case 'u':
					top.phase, top.aux = strHex, 4
					return fs, rOK
				}
				return fs, rFail
			case strHex:
				// A counted string takes no \uD… escape: a surrogate pair
				// would count as two characters here and one when decoded.
				if !isHex(c) || (counts && top.aux == 4 && c|0x20 == 'd') {
					return fs, rFail
				}
				top.aux--
				if top.aux == 0 {
					top.phase = strNormal
				}
				return fs, rOK
			case strUTF8:
				if c < byte(top.cand) || c > byte(top.cand>>8) {
					return fs, rFail
				}
				top.aux--
				top.cand = 0x80 | 0xBF<<8
				if top.aux == 0 {
					top.phase = strNormal
				}
				return fs, rOK
			}
			return fs, rFail

		case fNumber:
			intOnly := top.aux == 1
			d := isDigit(c)
			e := !intOnly && (c == 'e' || c == 'E')
			switch top.phase {
			case numStart, numMinus:
				switch {
				case c == '-' && top.phase == numStart:
					top.phase = numMinus
					return fs, rOK
				case c == '0':
					top.phase = numZero
					return fs, rOK
				case d:
					top.phase, top.count = numInt, 1
					return fs, rOK
				}
				return fs, rFail
			case numZero, numInt:
				switch {
				case d && top.phase == numInt && top.count < maxIntDigits:
					top.count++
					return fs, rOK
				case c == '.' && !intOnly:
					top.phase = numDot
					return fs, rOK
				case e:
					top.phase = numExp
					return fs, rOK
				}
			case numDot:
				if d {
					top.phase, top.count = numFrac, 1
					return fs, rOK
				}
				return fs, rFail
			case numFrac:
				switch {
				case d && top.count < maxFracDigits:
					top.count++
					return fs, rOK
				case e:
					top.phase = numExp
					return fs, rOK
				}
			case numExp, numExpSign:
				switch {
				case (c == '+' || c == '-') && top.phase == numExp:
					top.phase = numExpSign
					return fs, rOK
				case d:
					top.phase, top.count = numExpDigits, 1
					return fs, rOK
				}
				return fs, rFail
			case numExpDigits:
				if d && top.count < maxExpDigits {
					top.count++
					return fs, rOK
				}
			}
			if !numComplete(top.phase) || d {
				return fs, rFail
			}
			fs = pop(fs) // the number ended; c belongs to the parent
			continue

		case fLiteral:
			pos := int(top.count)
			var next uint64
			for i, l := range top.n.lits {
				if top.cand&(1<<i) != 0 && pos < len(l) && l[pos] == c {
					next |= 1 << i
				}
			}
			if next != 0 {
				top.cand = next
				top.count++
				if !litLonger(top) {
					return pop(fs), rOK
				}
				return fs, rOK
			}
			if !litComplete(top) {
				return fs, rFail
			}
			fs = pop(fs)
			continue

		case fKeyword:
			w := keywords[top.aux]
			if c != w[top.count] {
				return fs, rFail
			}
			top.count++
			if int(top.count) == len(w) {
				return pop(fs), rOK
			}
			return fs, rOK
		}
		return fs, rFail
	}
}

// accepting reports whether the machine holds a complete output.
func accepting(fs []frame) bool {
	switch len(fs) {
	case 1:
		return fs[0].phase == docAfter
	case 2:
		top := &fs[1]
		return (top.kind == fNumber && numComplete(top.phase)) || (top.kind == fLiteral && litComplete(top))
	}
	return false
}

// finished reports whether nothing may follow: the output is complete and
// cannot be extended.
func finished(fs []frame) bool { return len(fs) == 1 && fs[0].phase == docAfter }

// leaves appends the branches of an anyOf node, flattened (each once).
func leaves(n *node, out []*node, depth int) []*node {
	if len(n.anyOf) == 0 {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
		return out
	}
	if depth > 16 {
		return out
	}
	for _, b := range n.anyOf {
		out = leaves(b, out, depth+1)
	}
	return out
}

// state is a set of machines (the alternatives still possible), stored in
// one arena: machine i is frames[ends[i-1]:ends[i]].
type state struct {
	frames []frame
	ends   []int32
}

func newState(root *node) state {
	return state{frames: []frame{{kind: fDoc, n: root}}, ends: []int32{1}}
}

func (s *state) reset() {
	s.frames = s.frames[:0]
	s.ends = s.ends[:0]
}

func (s *state) machine(i int) []frame {
	lo := int32(0)
	if i > 0 {
		lo = s.ends[i-1]
	}
	return s.frames[lo:s.ends[i]]
}

func (s *state) copyFrom(o *state) {
	s.frames = append(s.frames[:0], o.frames...)
	s.ends = append(s.ends[:0], o.ends...)
}

// stepState feeds c to every machine of src and stores the survivors in
// dst. It reports whether any survived.
func stepState(src *state, c byte, dst *state) bool {
	dst.reset()
	for i := range src.ends {
		dst.stepMachine(src.machine(i), c, 0)
	}
	return len(dst.ends) > 0
}

// stepMachine feeds c to a copy of machine m and adds what survives.
func (s *state) stepMachine(m []frame, c byte, depth int) {
	if len(s.ends) >= maxMachines {
		return
	}
	start := len(s.frames)
	s.frames = append(s.frames, m...)
	fs, r := step(s.frames[start:], c)
	switch r {
	case rFail:
		s.frames = s.frames[:start]
	case rOK:
		s.frames = append(s.frames[:start], fs...)
		s.commit(start)
	case rExpand:
		base := slices.Clone(fs)
		s.frames = s.frames[:start]
		if depth > 4 {
			return
		}
		top := &base[len(base)-1]
		for _, b := range leaves(top.n, nil, 0) {
			top.n = b
			s.stepMachine(base, c, depth+1)
		}
	}
}

// commit ends the machine that starts at start, unless an equal one is
// already in the set.
func (s *state) commit(start int) {
	m := s.frames[start:]
	for i := range s.ends {
		if slices.Equal(s.machine(i), m) {
			s.frames = s.frames[:start]
			return
		}
	}
	s.ends = append(s.ends, int32(len(s.frames)))
}

func (s *state) accepting() bool {
	for i := range s.ends {
		if accepting(s.machine(i)) {
			return true
		}
	}
	return false
}

func (s *state) finished() bool {
	for i := range s.ends {
		if !finished(s.machine(i)) {
			return false
		}
	}
	return len(s.ends) > 0
}

// appendKey appends an encoding of the state that equal states share, for
// the cache of allowed tokens.
func (s *state) appendKey(dst []byte) []byte {
	for i := range s.ends {
		for _, f := range s.machine(i) {
			id := uint64(0)
			if f.n != nil {
				id = uint64(f.n.id) + 1
			}
			dst = binary.AppendUvarint(dst, id)
			key := byte(0)
			if f.key {
				key = 1
			}
			dst = append(dst, byte(f.kind), f.phase, f.ws, f.aux, key)
			dst = binary.AppendUvarint(dst, f.cand)
			dst = binary.AppendUvarint(dst, f.seen)
			dst = binary.AppendUvarint(dst, uint64(f.count))
		}
		dst = append(dst, 0xff)
	}
	return dst
}
