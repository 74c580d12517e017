package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// Error is one problem with a configuration. Load and Validate return every
// problem they find as *Error values joined with errors.Join; Errors lists
// them.
type Error struct {
	// File is the configuration file's name, empty when unknown.
	File string
	// Line is the 1-based line of the problem in File, 0 when unknown. For a
	// missing field it is the line of the nearest enclosing key.
	Line int
	// Path is the YAML path of the field, e.g. "services[0].forecast.refit";
	// empty when the problem is not about one field (a syntax error, an
	// empty file).
	Path string
	// Msg says what is wrong.
	Msg string
}

// Error formats e as "file:line: path: msg", leaving out the parts that are
// not known ("line N: path: msg" without a file, "path: msg" without either).
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors returns the *Error values in err, looking through errors.Join and
// wrapping; nil when there are none.
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok {
		return []*Error{e}
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		var out []*Error
		for _, err := range u.Unwrap() {
			out = append(out, Errors(err)...)
		}
		return out
	case interface{ Unwrap() error }:
		return Errors(u.Unwrap())
	}
	return nil
}

// LoadFile reads, decodes and validates the configuration file at path, and
// makes the relative file paths in it relative to the file's directory (see
// Config.SetDirectory).
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Load(data, path)
	if err != nil {
		return nil, err
	}
	c.SetDirectory(filepath.Dir(path))
	return c, nil
}

// Load decodes and validates a configuration. filename names it in errors
// and may be empty.
//
// Decoding is strict: an unknown key, a value of the wrong type, a key set
// twice or a negative duration fails, with the line it is on. Every section
// starts from its default (DefaultConfig, DefaultService, DefaultAction), then
// SetDefaults fills the derived defaults and Validate checks the result.
// On failure, the error joins one *Error per problem, each with the file,
// line and YAML path; the Config is nil.
func Load(data []byte, filename string) (*Config, error) {
	var root yaml.Node
	docs := yaml.NewDecoder(bytes.NewReader(data))
	if err := docs.Decode(&root); err != nil && err != io.EOF {
		return nil, syntaxError(filename, err)
	}
	doc := document(&root)
	if doc == nil {
		return nil, &Error{File: filename, Msg: "empty configuration"}
	}

	// model.Duration reports a bad duration without its line and stops the
	// decoder, and the decoder truncates 1.5 into an int field: check those
	// scalars on the node tree first.
	errs := checkScalars(doc, reflect.TypeFor[Config](), "")

	// yaml's decoder compares every key of a mapping with every other, and
	// looks each of its errors up again: quadratic in a mapping's size. Find
	// the unknown and repeated keys here, in one pass, and when there are
	// any, decode the tree without them (the decoder then sees only the
	// configuration's own keys and reports only the wrong types).
	c := new(Config)
	var keyErrs []*Error
	checkKeys(doc, reflect.TypeFor[Config](), "", make(map[reflect.Type]map[string]reflect.Type), &keyErrs)
	var err error
	if len(keyErrs) > 0 {
		errs = append(errs, keyErrs...)
		err = doc.Decode(c)
		if err == nil {
			err = nextDocument(docs)
		}
	} else {
		err = decodeStrict(data, c)
	}
	if err != nil {
		var te *yaml.TypeError
		switch {
		case errors.As(err, &te):
			idx := indexNodes(doc)
			for _, msg := range te.Errors {
				errs = append(errs, idx.decodeError(msg))
			}
		case len(errs) > 0 && isDurationError(err):
			// Already reported, with its line, by checkScalars.
		default:
			var e *Error
			if errors.As(err, &e) {
				errs = append(errs, e)
			} else {
				errs = append(errs, &Error{Msg: err.Error()})
			}
		}
	}
	if len(errs) > 0 {
		for _, e := range errs {
			e.File = filename
			e.Msg = clipN(e.Msg, maxMsg)
		}
		slices.SortStableFunc(errs, func(a, b *Error) int { return a.Line - b.Line })
		return nil, joinErrors(errs)
	}

	c.SetDefaults()
	c.file, c.doc = filename, doc
	if err := c.Validate(); err != nil {
		return nil, joinErrors(c.locate(Errors(err)))
	}
	return c, nil
}

// locate gives each of errs the file and the line of its YAML path that
// Load read c from (none for a Config that Load did not make).
func (c *Config) locate(errs []*Error) []*Error {
	for _, e := range errs {
		e.File = c.file
		if c.doc != nil {
			e.Line = lineOf(c.doc, e.Path)
		}
	}
	return errs
}

// decodeStrict decodes the first document of data into c, failing on an
// unknown key, and reports a second document as an *Error.
func decodeStrict(data []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return err
	}
	return nextDocument(dec)
}

func nextDocument(dec *yaml.Decoder) error {
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
		return nil
	case err != nil:
		return syntaxError("", err)
	default:
		return &Error{Line: next.Line, Msg: "more than one YAML document"}
	}
}

// checkKeys walks n, decoded as type t at path, and reports every key that
// repeats an earlier key of its mapping, and every key of a struct's mapping
// that names no field, as yaml's strict decoder words them; it removes those
// keys from the tree. It is linear in the size of the tree. fields caches
// yamlFields.
func checkKeys(n *yaml.Node, t reflect.Type, path string, fields map[reflect.Type]map[string]reflect.Type, errs *[]*Error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.MappingNode:
		var known map[string]reflect.Type
		var inline reflect.Type // the element type of an inline map
		switch t.Kind() {
		case reflect.Struct:
			if t == durationType {
				return
			}
			known = fields[t]
			if known == nil {
				known = yamlFields(t)
				fields[t] = known
			}
			inline = inlineMap(t)
		case reflect.Map:
		default:
			return // the decoder reports the wrong type
		}
		// Of a struct's keys, only its fields can repeat (an unknown key is
		// reported as unknown each time).
		seen := make(map[string]int, min(len(n.Content)/2, len(known)))
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				kept = append(kept, k, val)
				continue
			}
			var vt reflect.Type
			if known == nil {
				vt = t.Elem()
			} else {
				ft, ok := known[k.Value]
				if !ok && inline != nil {
					ft, ok = inline, true
				}
				if !ok {
					*errs = append(*errs, &Error{Line: k.Line, Path: joinPath(path, clip(k.Value)),
						Msg: "unknown field " + strconv.Quote(clip(k.Value))})
					continue
				}
				vt = ft
			}
			if line, dup := seen[k.Value]; dup {
				*errs = append(*errs, &Error{Line: k.Line, Path: joinPath(path, clip(k.Value)),
					Msg: fmt.Sprintf("mapping key %q already defined at line %d", clip(k.Value), line)})
				continue
			}
			seen[k.Value] = k.Line
			p := joinPath(path, k.Value)
			kept = append(kept, k, val)
			checkKeys(val, vt, p, fields, errs)
		}
		clear(n.Content[len(kept):])
		n.Content = kept
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return
		}
		for i, item := range n.Content {
			checkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), fields, errs)
		}
	}
}

// joinErrors joins errs, with every URL in their messages redacted: a
// message may echo a value that holds a password or a token.
func joinErrors(errs []*Error) error {
	out := make([]error, len(errs))
	for i, e := range errs {
		e.Msg = RedactText(e.Msg)
		out[i] = e
	}
	return errors.Join(out...)
}

// document returns the top node of the first document, nil when the document
// is empty (no content, comments only, or null).
func document(root *yaml.Node) *yaml.Node {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	n := root.Content[0]
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	return n
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func syntaxError(filename string, err error) *Error {
	msg := err.Error()
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: filename, Line: line, Msg: m[2]}
	}
	return &Error{File: filename, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// isDurationError reports whether err is one of model.ParseDuration's.
func isDurationError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "not a valid duration string") ||
		strings.HasPrefix(msg, "unknown unit ") ||
		strings.HasPrefix(msg, "empty duration string") ||
		strings.HasPrefix(msg, "duration out of range") ||
		strings.HasPrefix(msg, "invalid duration")
}

var durationType = reflect.TypeFor[model.Duration]()

// checkScalars walks n, decoded as type t at path, and reports every
// duration that does not parse and every non-integral number bound for an
// integer field, with its line.
func checkScalars(n *yaml.Node, t reflect.Type, path string) []*Error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			return nil // the decoder reports the wrong type
		}
		if _, err := model.ParseDuration(n.Value); err != nil {
			return []*Error{{Line: n.Line, Path: path, Msg: fmt.Sprintf(
				"invalid duration %q: want a non-negative duration such as 30s, 5m, 1h or 7d", clip(n.Value))}}
		}
		return nil
	case isInt(t.Kind()):
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!float" {
			return nil
		}
		if f, err := strconv.ParseFloat(n.Value, 64); err != nil || f != math.Trunc(f) {
			return []*Error{{Line: n.Line, Path: path, Msg: fmt.Sprintf("%s is not an integer", n.Value)}}
		}
		return nil
	}
	var errs []*Error
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if ft, ok := fields[key]; ok {
				errs = append(errs, checkScalars(n.Content[i+1], ft, joinPath(path, key))...)
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			errs = append(errs, checkScalars(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
}

func isInt(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// yamlFields maps the YAML keys of struct type t, inline fields included, to
// their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range yamlFields(ft) {
					fields[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

// inlineMap returns the element type of struct type t's inline map field
// (commoncfg.Headers has one: every key is a header), nil without one.
func inlineMap(t reflect.Type) reflect.Type {
	for i := range t.NumField() {
		f := t.Field(i)
		_, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && f.Type.Kind() == reflect.Map && strings.Contains(","+opts+",", ",inline,") {
			return f.Type.Elem()
		}
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// lineOf returns the line of the node at path under top: the key's line for
// a mapping entry, the item's line for a sequence item. When the path does
// not exist, it returns the line of its deepest existing ancestor.
func lineOf(top *yaml.Node, path string) int {
	n, line := top, top.Line
	for _, seg := range splitPath(path) {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch {
		case seg.index >= 0 && n.Kind == yaml.SequenceNode && seg.index < len(n.Content):
			n = n.Content[seg.index]
			line = n.Line
		case seg.index < 0 && n.Kind == yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg.key {
					line = n.Content[i].Line
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return line
			}
		default:
			return line
		}
	}
	return line
}

type segment struct {
	key   string
	index int // -1 for a key
}

// splitPath splits "services[1].playbook[0].max" into its segments.
func splitPath(path string) []segment {
	var segs []segment
	for part := range strings.SplitSeq(path, ".") {
		if part == "" {
			continue
		}
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			segs = append(segs, segment{key: key, index: -1})
		}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if err != nil {
				break
			}
			segs = append(segs, segment{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return segs
}

// nodeIndex finds the YAML path of a decoder error from its line: the
// entries on each line, so that looking up every error is linear overall.
type nodeIndex map[int][]indexEntry

type indexEntry struct {
	path    string
	key     string // the mapping key; empty for a sequence item
	keyLine int    // the key's line; the item's line for a sequence item
	value   *yaml.Node
	depth   int
}

func indexNodes(top *yaml.Node) nodeIndex {
	idx := make(nodeIndex)
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinPath(path, k.Value)
				e := indexEntry{path: p, key: k.Value, keyLine: k.Line, value: v, depth: depth + 1}
				idx[k.Line] = append(idx[k.Line], e)
				if v.Line != k.Line {
					idx[v.Line] = append(idx[v.Line], e)
				}
				walk(v, p, depth+1)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				idx[item.Line] = append(idx[item.Line], indexEntry{path: p, keyLine: item.Line, value: item, depth: depth + 1})
				walk(item, p, depth+1)
			}
		}
	}
	walk(top, "", 0)
	return idx
}

var (
	wrongTypeRE    = regexp.MustCompile("^cannot unmarshal (\\S+)(?: `(.*)`)? into ")
	unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	twiceFieldRE   = regexp.MustCompile(`^field (\S+) already set in type \S+$`)
)

// decodeError turns one of yaml's "line N: msg" type errors into an *Error
// with its path where the line tells it.
func (idx nodeIndex) decodeError(s string) *Error {
	m := lineRE.FindStringSubmatch(s)
	if m == nil {
		return &Error{Msg: s}
	}
	line, _ := strconv.Atoi(m[1])
	e := &Error{Line: line, Msg: m[2]}
	if f := unknownFieldRE.FindStringSubmatch(e.Msg); f != nil {
		e.Path, e.Msg = idx.key(line, f[1]), fmt.Sprintf("unknown field %q", clip(f[1]))
		return e
	}
	if f := twiceFieldRE.FindStringSubmatch(e.Msg); f != nil {
		e.Path, e.Msg = idx.key(line, f[1]), fmt.Sprintf("field %q set more than once", clip(f[1]))
		return e
	}
	// A value of the wrong type: the deepest node on this line that matches
	// the tag and value yaml quotes, when there is exactly one.
	var tag, value string
	if f := wrongTypeRE.FindStringSubmatch(e.Msg); f != nil {
		tag, value = f[1], f[2]
	}
	best, n := -1, 0
	onLine := idx[line]
	for i, en := range onLine {
		v := en.value
		if v.Line != line || tag != "" && v.Tag != tag && v.ShortTag() != tag ||
			value != "" && v.Value != value && !strings.HasPrefix(v.Value, strings.TrimSuffix(value, "...")) {
			continue
		}
		switch {
		case best < 0 || en.depth > onLine[best].depth:
			best, n = i, 1
		case en.depth == onLine[best].depth:
			n++
		}
	}
	if best >= 0 && n == 1 {
		e.Path = onLine[best].path
	}
	return e
}

// key returns the path of the last key called name on line; with a key set
// twice, the decoder reports the second.
func (idx nodeIndex) key(line int, name string) string {
	path := ""
	for _, en := range idx[line] {
		if en.keyLine == line && en.key == name {
			path = en.path
		}
	}
	return path
}
