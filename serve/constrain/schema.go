// Package constrain restricts a language model's output to JSON — any JSON
// object (OpenAI's response_format "json_object"), or a value that follows a
// JSON Schema ("json_schema") — by masking, at every step, the tokens that
// cannot continue a valid document.
//
// A Schema is compiled once from its JSON text into a graph of nodes. The
// output is read by an incremental pushdown automaton over bytes (machine.go):
// a stack of frames (document, value, object, array, string, number,
// literal), with a set of such stacks where the schema branches (anyOf).
// An Index pairs a Schema with a model's Vocab — the bytes each token id
// appends to the text — and computes which tokens a state allows by walking
// the vocabulary in byte order, so that tokens sharing a prefix share its
// steps and a prefix that fails rules out every token that starts with it;
// the allowed sets are cached per automaton state. A Matcher is the state of
// one sequence and implements the scheduler's Constraint.
//
// Supported schema keywords: type (a name or a list), properties, required,
// additionalProperties, items, minItems, maxItems, minLength, maxLength,
// enum, const, anyOf, allOf with one element, $ref to "#", "#/$defs/…" or
// "#/definitions/…" (recursion allowed), nullable; annotations (title,
// description, default, examples, format, $schema, $id, $comment, …) are
// ignored. Other assertions (pattern, minimum, oneOf, …) are refused with an
// error rather than silently not enforced.
//
// What is generated is a subset of what the schema accepts, chosen to keep
// a small model on track: objects with declared properties take only those
// (each at most once, in any order, the required ones before the closing
// brace); whitespace between tokens is nothing, one space, or a newline and
// up to 20 spaces or tabs (llama.cpp's rule); numbers have at most 15 integer and 15 fraction digits and 3
// exponent digits; enum and const values are produced in their canonical
// encoding; nesting is bounded by MaxDepth. Every complete output parses as
// JSON and validates against the schema (Schema.Validate checks it).
package constrain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of a compiled schema.
const (
	// MaxProperties is the most properties one object schema may declare.
	MaxProperties = 64
	// MaxEnum is the most values an enum may list.
	MaxEnum = 64
	// maxNodes bounds the subschemas of one schema.
	maxNodes = 4096
	// maxSchemaDepth bounds the nesting of the schema document.
	maxSchemaDepth = 64
)

// typeSet is a set of JSON types.
type typeSet uint8

const (
	tObject typeSet = 1 << iota
	tArray
	tString
	tNumber
	tInteger
	tBoolean
	tNull
	tAll = tObject | tArray | tString | tNumber | tInteger | tBoolean | tNull
)

var typeNames = map[string]typeSet{"object": tObject, "array": tArray, "string": tString, "number": tNumber,
	"integer": tInteger, "boolean": tBoolean, "null": tNull}

// node is one compiled subschema.
type node struct {
	id    int
	types typeSet

	// Objects.
	props    []prop
	required uint64 // bit i: props[i] is required
	free     *node  // not nil: keys are free strings whose values follow free
	closed   bool   // additionalProperties false
	addl     *node  // additionalProperties as a schema (validation)

	// Arrays.
	items              *node
	minItems, maxItems int // maxItems < 0: no maximum

	// Strings.
	minLen, maxLen int // maxLen < 0: no maximum

	// enum / const: the values' canonical encodings.
	lits    [][]byte
	hasLits bool

	anyOf []*node
}

type prop struct {
	name string
	enc  []byte // the JSON encoding of name, without the quotes
	node *node
}

// counts reports whether a string node bounds its length.
func (n *node) counts() bool { return n != nil && (n.minLen > 0 || n.maxLen >= 0) }

// Schema is a compiled JSON Schema (or the "any JSON object" of json_object
// mode). It is immutable and safe for concurrent use.
type Schema struct {
	root  *node
	nodes int
}

// SchemaError reports a schema that cannot be compiled: Path is the JSON
// pointer of the offending keyword.
type SchemaError struct {
	Path string
	Msg  string
}

func (e *SchemaError) Error() string { return fmt.Sprintf("constrain: schema %s: %s", e.Path, e.Msg) }

// annotations are keywords without effect on validation.
var annotations = map[string]bool{"$schema": true, "$id": true, "$comment": true, "$anchor": true, "title": true,
	"description": true, "default": true, "examples": true, "format": true, "deprecated": true, "readOnly": true,
	"writeOnly": true, "contentMediaType": true, "contentEncoding": true, "$defs": true, "definitions": true,
	"nullable": true, "strict": true}

// AnyObject returns the schema of json_object mode: any JSON object.
func AnyObject() *Schema {
	c := &compiler{}
	any := c.anyNode()
	root := c.newNode()
	root.types, root.free, root.maxItems, root.maxLen = tObject, any, -1, -1
	return &Schema{root: root, nodes: len(c.nodes)}
}

// CompileSchema compiles the JSON text of a schema.
func CompileSchema(data []byte) (*Schema, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return nil, &SchemaError{Path: "#", Msg: "not valid JSON: " + err.Error()}
	}
	if d.More() {
		return nil, &SchemaError{Path: "#", Msg: "text after the schema"}
	}
	c := &compiler{doc: doc, memo: map[string]*node{}}
	root, err := c.compile(doc, "#", 0)
	if err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &Schema{root: root, nodes: len(c.nodes)}, nil
}

type compiler struct {
	doc   any
	memo  map[string]*node // $ref targets by pointer
	nodes []*node
	any   *node
}

func (c *compiler) newNode() *node {
	n := &node{id: len(c.nodes), maxItems: -1, maxLen: -1}
	c.nodes = append(c.nodes, n)
	return n
}

// anyNode is the schema true: any value.
func (c *compiler) anyNode() *node {
	if c.any == nil {
		n := c.newNode()
		n.types = tAll
		n.free, n.items = n, n
		c.any = n
	}
	return c.any
}

func (c *compiler) errf(path, format string, args ...any) error {
	return &SchemaError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// check runs the checks that need the whole graph: every node must admit
// some value.
func (c *compiler) check() error {
	for _, n := range c.nodes {
		if n.types == 0 && !n.hasLits && len(n.anyOf) == 0 {
			return c.errf("#", "a subschema admits no value")
		}
	}
	return nil
}

// compile compiles the subschema v found at path.
func (c *compiler) compile(v any, path string, depth int) (*node, error) {
	if depth > maxSchemaDepth {
		return nil, c.errf(path, "nested deeper than %d levels", maxSchemaDepth)
	}
	if len(c.nodes) >= maxNodes {
		return nil, c.errf(path, "more than %d subschemas", maxNodes)
	}
	switch v := v.(type) {
	case bool:
		if !v {
			return nil, c.errf(path, "the schema false admits no value")
		}
		return c.anyNode(), nil
	case map[string]any:
		return c.compileObject(v, path, depth)
	}
	return nil, c.errf(path, "a schema must be an object or a boolean, not %s", jsonKind(v))
}

func (c *compiler) compileObject(s map[string]any, path string, depth int) (*node, error) {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assertions := 0
	for _, k := range keys {
		switch k {
		case "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
			"minLength", "maxLength", "enum", "const":
			assertions++
		case "anyOf", "allOf", "$ref":
		default:
			if !annotations[k] {
				return nil, c.errf(path+"/"+k, "keyword %q is not supported for constrained decoding", k)
			}
		}
	}
	if ref, ok := s["$ref"]; ok {
		if assertions > 0 || s["anyOf"] != nil || s["allOf"] != nil {
			return nil, c.errf(path, "$ref alongside other assertions is not supported")
		}
		r, ok := ref.(string)
		if !ok {
			return nil, c.errf(path+"/$ref", "want a string, got %s", jsonKind(ref))
		}
		return c.resolve(r, path+"/$ref", depth)
	}
	if all, ok := s["allOf"]; ok {
		list, ok := all.([]any)
		if !ok || len(list) != 1 || assertions > 0 || s["anyOf"] != nil {
			return nil, c.errf(path+"/allOf", "only allOf with one subschema and no other assertions is supported")
		}
		return c.compile(list[0], path+"/allOf/0", depth+1)
	}
	if anyOf, ok := s["anyOf"]; ok {
		list, ok := anyOf.([]any)
		if !ok || len(list) == 0 {
			return nil, c.errf(path+"/anyOf", "want a non-empty array of schemas")
		}
		if assertions > 0 {
			return nil, c.errf(path, "anyOf alongside other assertions is not supported")
		}
		n := c.newNode()
		for i, sub := range list {
			b, err := c.compile(sub, fmt.Sprintf("%s/anyOf/%d", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			n.anyOf = append(n.anyOf, b)
		}
		if s["nullable"] == true {
			null := c.newNode()
			null.types = tNull
			n.anyOf = append(n.anyOf, null)
		}
		return n, nil
	}
	n := c.newNode()
	// type, or what the keywords imply when it is absent.
	if t, ok := s["type"]; ok {
		ts, err := c.types(t, path+"/type")
		if err != nil {
			return nil, err
		}
		n.types = ts
	} else {
		switch {
		case has(s, "properties", "required", "additionalProperties"):
			n.types = tObject
		case has(s, "items", "minItems", "maxItems"):
			n.types = tArray
		case has(s, "minLength", "maxLength"):
			n.types = tString
		default:
			n.types = tAll
		}
	}
	if s["nullable"] == true {
		n.types |= tNull
	}
	if n.types&tNumber != 0 {
		n.types |= tInteger // a number may be an integer
	}
	var err error
	if n.minItems, err = c.count(s, "minItems", path, 0); err != nil {
		return nil, err
	}
	if n.maxItems, err = c.count(s, "maxItems", path, -1); err != nil {
		return nil, err
	}
	if n.minLen, err = c.count(s, "minLength", path, 0); err != nil {
		return nil, err
	}
	if n.maxLen, err = c.count(s, "maxLength", path, -1); err != nil {
		return nil, err
	}
	if n.maxItems >= 0 && n.minItems > n.maxItems {
		return nil, c.errf(path, "minItems %d > maxItems %d", n.minItems, n.maxItems)
	}
	if n.maxLen >= 0 && n.minLen > n.maxLen {
		return nil, c.errf(path, "minLength %d > maxLength %d", n.minLen, n.maxLen)
	}
	if err := c.objectKeywords(n, s, path, depth); err != nil {
		return nil, err
	}
	if it, ok := s["items"]; ok {
		if b, ok := it.(bool); ok && !b {
			n.items, n.maxItems = c.anyNode(), 0
		} else if n.items, err = c.compile(it, path+"/items", depth+1); err != nil {
			return nil, err
		}
	} else {
		n.items = c.anyNode()
	}
	if err := c.literals(n, s, path); err != nil {
		return nil, err
	}
	return n, nil
}

func has(s map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := s[k]; ok {
			return true
		}
	}
	return false
}

func (c *compiler) types(t any, path string) (typeSet, error) {
	var names []any
	switch t := t.(type) {
	case string:
		names = []any{t}
	case []any:
		if len(t) == 0 {
			return 0, c.errf(path, "an empty list of types admits no value")
		}
		names = t
	default:
		return 0, c.errf(path, "want a type name or a list of them, got %s", jsonKind(t))
	}
	var ts typeSet
	for _, v := range names {
		name, ok := v.(string)
		if !ok {
			return 0, c.errf(path, "want a type name, got %s", jsonKind(v))
		}
		bit, ok := typeNames[name]
		if !ok {
			return 0, c.errf(path, "unknown type %q (want object, array, string, number, integer, boolean or null)", name)
		}
		ts |= bit
	}
	return ts, nil
}

// count reads a non-negative integer keyword (def when absent).
func (c *compiler) count(s map[string]any, key, path string, def int) (int, error) {
	v, ok := s[key]
	if !ok {
		return def, nil
	}
	num, ok := v.(json.Number)
	if !ok {
		return 0, c.errf(path+"/"+key, "want a non-negative integer, got %s", jsonKind(v))
	}
	f, err := num.Float64()
	if err != nil || f < 0 || f != math.Trunc(f) || f > 1<<30 {
		return 0, c.errf(path+"/"+key, "want a non-negative integer, got %s", num)
	}
	return int(f), nil
}

func (c *compiler) objectKeywords(n *node, s map[string]any, path string, depth int) error {
	if p, ok := s["properties"]; ok {
		props, ok := p.(map[string]any)
		if !ok {
			return c.errf(path+"/properties", "want an object of schemas, got %s", jsonKind(p))
		}
		if len(props) > MaxProperties {
			return c.errf(path+"/properties", "%d properties; at most %d are supported", len(props), MaxProperties)
		}
		names := make([]string, 0, len(props))
		for k := range props {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			sub := props[name]
			if b, ok := sub.(bool); ok && !b {
				continue // a property that must be absent: never generated
			}
			pn, err := c.compile(sub, path+"/properties/"+escapePointer(name), depth+1)
			if err != nil {
				return err
			}
			enc, _ := json.Marshal(name)
			n.props = append(n.props, prop{name: name, enc: enc[1 : len(enc)-1], node: pn})
		}
	}
	if r, ok := s["required"]; ok {
		list, ok := r.([]any)
		if !ok {
			return c.errf(path+"/required", "want an array of property names, got %s", jsonKind(r))
		}
		for i, v := range list {
			name, ok := v.(string)
			if !ok {
				return c.errf(fmt.Sprintf("%s/required/%d", path, i), "want a property name, got %s", jsonKind(v))
			}
			j := slices.IndexFunc(n.props, func(p prop) bool { return p.name == name })
			if j < 0 {
				return c.errf(fmt.Sprintf("%s/required/%d", path, i), "required property %q is not among the properties", name)
			}
			n.required |= 1 << j
		}
	}
	if a, ok := s["additionalProperties"]; ok {
		switch a := a.(type) {
		case bool:
			n.closed = !a
		default:
			an, err := c.compile(a, path+"/additionalProperties", depth+1)
			if err != nil {
				return err
			}
			n.addl = an
		}
	}
	if len(n.props) == 0 && !n.closed {
		// Free keys: their values follow additionalProperties (or anything).
		n.free = n.addl
		if n.free == nil {
			n.free = c.anyNode()
		}
	}
	return nil
}

// literals compiles enum and const into canonical encodings.
func (c *compiler) literals(n *node, s map[string]any, path string) error {
	var vals []any
	key := ""
	if e, ok := s["enum"]; ok {
		list, ok := e.([]any)
		if !ok || len(list) == 0 {
			return c.errf(path+"/enum", "want a non-empty array")
		}
		if len(list) > MaxEnum {
			return c.errf(path+"/enum", "%d values; at most %d are supported", len(list), MaxEnum)
		}
		vals, key = list, "enum"
	}
	if cv, ok := s["const"]; ok {
		if key != "" {
			return c.errf(path, "enum and const together are not supported")
		}
		vals, key = []any{cv}, "const"
	}
	if key == "" {
		return nil
	}
	n.hasLits = true
	seen := map[string]bool{}
	for _, v := range vals {
		enc, err := json.Marshal(v)
		if err != nil {
			return c.errf(path+"/"+key, "%v", err)
		}
		// Keep the values the rest of the schema accepts.
		probe := *n
		probe.hasLits = false
		if validate(&probe, v, "") != nil || seen[string(enc)] {
			continue
		}
		seen[string(enc)] = true
		n.lits = append(n.lits, enc)
	}
	if len(n.lits) == 0 {
		return c.errf(path+"/"+key, "no value of the %s is valid under the rest of the schema", key)
	}
	return nil
}

// resolve compiles the target of a $ref.
func (c *compiler) resolve(ref, path string, depth int) (*node, error) {
	if n, ok := c.memo[ref]; ok {
		return n, nil
	}
	if ref != "#" && !strings.HasPrefix(ref, "#/") {
		return nil, c.errf(path, "$ref %q: only references inside the schema (#/…) are supported", ref)
	}
	target := c.doc
	if ref != "#" {
		for _, tok := range strings.Split(ref[2:], "/") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			m, ok := target.(map[string]any)
			if !ok {
				return nil, c.errf(path, "$ref %q does not resolve", ref)
			}
			if target, ok = m[tok]; !ok {
				return nil, c.errf(path, "$ref %q does not resolve", ref)
			}
		}
	}
	// A placeholder breaks recursion: the reference becomes an anyOf of
	// one branch, filled in once the target is compiled.
	ph := c.newNode()
	c.memo[ref] = ph
	n, err := c.compile(target, ref, depth+1)
	if err != nil {
		return nil, err
	}
	ph.anyOf = []*node{n}
	return ph, nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// ValidationError reports a value that does not follow the schema.
type ValidationError struct {
	Path string // JSON pointer into the value
	Msg  string
}

func (e *ValidationError) Error() string {
	p := e.Path
	if p == "" {
		p = "(root)"
	}
	return fmt.Sprintf("constrain: %s: %s", p, e.Msg)
}

// Validate parses data as one JSON value and checks it against the schema.
func (s *Schema) Validate(data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return &ValidationError{Msg: "not valid JSON: " + err.Error()}
	}
	if _, err := d.Token(); err != io.EOF {
		return &ValidationError{Msg: "text after the JSON value"}
	}
	return validate(s.root, v, "")
}

func validate(n *node, v any, path string) error {
	fail := func(format string, args ...any) error {
		return &ValidationError{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	if len(n.anyOf) > 0 {
		var first error
		for _, b := range n.anyOf {
			err := validate(b, v, path)
			if err == nil {
				return nil
			}
			if first == nil {
				first = err
			}
		}
		return first
	}
	if n.hasLits {
		enc := canonical(v)
		for _, l := range n.lits {
			if canonicalBytes(l) == enc {
				return nil
			}
		}
		return fail("value is not one of the enum/const values")
	}
	switch v := v.(type) {
	case nil:
		if n.types&tNull == 0 {
			return fail("null is not allowed")
		}
	case bool:
		if n.types&tBoolean == 0 {
			return fail("a boolean is not allowed")
		}
	case json.Number:
		switch {
		case n.types&tNumber != 0:
		case n.types&tInteger != 0:
			if !isInteger(v) {
				return fail("%s is not an integer", v)
			}
		default:
			return fail("a number is not allowed")
		}
	case string:
		if n.types&tString == 0 {
			return fail("a string is not allowed")
		}
		l := utf8.RuneCountInString(v)
		if l < n.minLen || (n.maxLen >= 0 && l > n.maxLen) {
			return fail("string of %d characters, want %d to %d", l, n.minLen, n.maxLen)
		}
	case []any:
		if n.types&tArray == 0 {
			return fail("an array is not allowed")
		}
		if len(v) < n.minItems || (n.maxItems >= 0 && len(v) > n.maxItems) {
			return fail("%d items, want %d to %d", len(v), n.minItems, n.maxItems)
		}
		for i, x := range v {
			if n.items != nil {
				if err := validate(n.items, x, fmt.Sprintf("%s/%d", path, i)); err != nil {
					return err
				}
			}
		}
	case map[string]any:
		if n.types&tObject == 0 {
			return fail("an object is not allowed")
		}
		for i, p := range n.props {
			x, ok := v[p.name]
			if !ok {
				if n.required&(1<<i) != 0 {
					return fail("missing required property %q", p.name)
				}
				continue
			}
			if err := validate(p.node, x, path+"/"+escapePointer(p.name)); err != nil {
				return err
			}
		}
		for k, x := range v {
			if slices.ContainsFunc(n.props, func(p prop) bool { return p.name == k }) {
				continue
			}
			switch {
			case n.closed:
				return fail("property %q is not allowed", k)
			case n.addl != nil:
				if err := validate(n.addl, x, path+"/"+escapePointer(k)); err != nil {
					return err
				}
			}
		}
	default:
		return fail("unexpected %T", v)
	}
	return nil
}

func isInteger(n json.Number) bool {
	f, _, err := big.ParseFloat(string(n), 10, 256, big.ToNearestEven)
	return err == nil && f.IsInt()
}

// canonical encodes a decoded value with numbers normalised, so that 1 and
// 1.0 compare equal, as JSON Schema's equality does.
func canonical(v any) string {
	var sb strings.Builder
	writeCanonical(&sb, v)
	return sb.String()
}

func canonicalBytes(b []byte) string {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return string(b)
	}
	return canonical(v)
}

func writeCanonical(sb *strings.Builder, v any) {
	switch v := v.(type) {
	case json.Number:
		if f, _, err := big.ParseFloat(string(v), 10, 256, big.ToNearestEven); err == nil {
			sb.WriteString(f.Text('g', 60))
		} else {
			sb.WriteString(string(v))
		}
	case []any:
		sb.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				sb.WriteByte(',')
			}
			writeCanonical(sb, x)
		}
		sb.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(strconv.Quote(k))
			sb.WriteByte(':')
			writeCanonical(sb, v[k])
		}
		sb.WriteByte('}')
	default:
		b, _ := json.Marshal(v)
		sb.Write(b)
	}
}

// errNoToken is returned by Matcher.Advance for a token the state does not
// allow.
var errNoToken = errors.New("constrain: token cannot continue the output")
