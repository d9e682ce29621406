package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// The strict decoder walks the parsed yaml.Node tree alongside the Go types
// by reflection. It is used instead of yaml's own decoder because that one
// only checks unknown keys when reading bytes (not nodes, where ${VAR} is
// expanded) and reports problems as bare strings without the setting's path.
// Here every problem names file, line and path, every problem is collected,
// and the line of every decoded setting is kept for validation messages.

// maxNodes bounds the nodes one document may decode to, aliases expanded, so
// that a "billion laughs" document fails fast instead of eating memory.
const maxNodes = 100_000

type decoder struct {
	file   string
	lookup func(string) (string, bool)
	errs   []Error
	// lines maps a setting's path to the line where it is written.
	lines map[string]int
	// bad holds the paths of settings that already have a problem, so that
	// validation does not report a second one for them.
	bad    map[string]bool
	budget int
}

func newDecoder(file string, lookup func(string) (string, bool)) *decoder {
	return &decoder{file: file, lookup: lookup, lines: map[string]int{}, bad: map[string]bool{}, budget: maxNodes}
}

// fail records a problem with the value of the setting at path, written at
// line; validation then leaves that setting alone.
func (d *decoder) fail(line int, path, format string, args ...any) {
	d.problem(line, path, format, args...)
	d.bad[path] = true
}

// problem records a problem about the keys of the mapping at path (unknown,
// duplicate...); the values beside it are still validated.
func (d *decoder) problem(line int, path, format string, args ...any) {
	d.errs = append(d.errs, Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	textType     = reflect.TypeFor[textUnmarshaler]()
	fieldsCache  sync.Map // reflect.Type → map[string]int
)

// yamlFields maps the YAML keys of a struct type to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	if m, ok := fieldsCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
	}
	fieldsCache.Store(t, m)
	return m
}

// value decodes n into v (addressable) and reports whether it set v (false
// for null and for problems). line is where the setting is written (its
// key, or its list item), kept for paths and for Line fields.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, line int) bool {
	if _, ok := d.lines[path]; !ok {
		d.lines[path] = line
	}
	if !d.spend(n) {
		return false
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return false
		}
		n = n.Alias
	}
	t := v.Type()
	switch {
	case t == timeType:
		return d.timeValue(n, v, path)
	case t == durationType:
		// A plain time.Duration field reads like Duration.
		return d.textValue(n, v.Addr().Convert(reflect.TypeFor[*Duration]()).Elem(), path)
	case reflect.PointerTo(t).Implements(textType):
		return d.textValue(n, v, path)
	}
	switch t.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return false
		}
		elem := reflect.New(t.Elem())
		if !d.value(n, elem.Elem(), path, line) {
			return false
		}
		v.Set(elem)
		return true
	case reflect.Struct:
		return d.structValue(n, v, path, line)
	case reflect.Map:
		return d.mapValue(n, v, path)
	case reflect.Slice:
		return d.sliceValue(n, v, path)
	default:
		return d.basicValue(n, v, path)
	}
}

// spend counts one decoded node against the budget; false once it is spent.
func (d *decoder) spend(n *yaml.Node) bool {
	if d.budget--; d.budget >= 0 {
		return true
	}
	if d.budget == -1 {
		d.problem(n.Line, "", "document too large: more than %d values once aliases are expanded", maxNodes)
	}
	return false
}

// scalar returns the value of a scalar node with ${VAR} expanded, and
// whether it is null. ok is false when n is not a scalar or expansion
// failed; the problem is then recorded.
func (d *decoder) scalar(n *yaml.Node, path, want string) (s string, null, ok bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n.Line, path, "want %s, got %s", want, describe(n))
		return "", false, false
	}
	s, err := expandEnv(n.Value, d.lookup)
	if err != nil {
		d.fail(n.Line, path, "%v", err)
		return "", false, false
	}
	if n.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return s, n.Tag == "!!null", true
	}
	switch s {
	case "", "~", "null", "Null", "NULL":
		return s, true, true
	}
	return s, false, true
}

func (d *decoder) timeValue(n *yaml.Node, v reflect.Value, path string) bool {
	s, null, ok := d.scalar(n, path, "an RFC 3339 time")
	if !ok || null {
		return false
	}
	t, err := parseTime(s)
	if err != nil {
		d.fail(n.Line, path, "%v", err)
		return false
	}
	v.Set(reflect.ValueOf(t))
	return true
}

func (d *decoder) textValue(n *yaml.Node, v reflect.Value, path string) bool {
	s, null, ok := d.scalar(n, path, "a scalar")
	if !ok || null {
		return false
	}
	if err := v.Addr().Interface().(textUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		d.fail(n.Line, path, "%v", err)
		return false
	}
	return true
}

func (d *decoder) basicValue(n *yaml.Node, v reflect.Value, path string) bool {
	var want string
	switch v.Kind() {
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "an integer"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	default:
		d.fail(n.Line, path, "cannot decode into %s", v.Type())
		return false
	}
	s, null, ok := d.scalar(n, path, want)
	if !ok || null {
		return false
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			v.SetBool(true)
		case "false", "no", "off":
			v.SetBool(false)
		default:
			d.fail(n.Line, path, "want true or false, got %q", s)
			return false
		}
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), v.Type().Bits())
		if err != nil {
			d.fail(n.Line, path, "want a number, got %q", s)
			return false
		}
		v.SetFloat(f)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := parseInt(s, 64)
		if err == nil && (i < 0 || v.OverflowUint(uint64(i))) {
			err = fmt.Errorf("integer %q is out of range", s)
		}
		if err != nil {
			d.fail(n.Line, path, "%v", err)
			return false
		}
		v.SetUint(uint64(i))
	default:
		i, err := parseInt(s, v.Type().Bits())
		if err != nil {
			d.fail(n.Line, path, "%v", err)
			return false
		}
		v.SetInt(i)
	}
	return true
}

// parseInt parses a decimal integer ("1_000" allowed) or a 0x/0o/0b one.
func parseInt(s string, bits int) (int64, error) {
	t := strings.TrimSpace(s)
	base := 10
	if u := strings.TrimLeft(strings.ToLower(t), "+-"); len(u) > 1 && u[0] == '0' && strings.ContainsRune("xob", rune(u[1])) {
		base = 0
	}
	var i int64
	var err error
	if base == 0 {
		i, err = strconv.ParseInt(t, 0, bits)
	} else {
		i, err = strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, bits)
	}
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("integer %q is out of range", s)
		}
		return 0, fmt.Errorf("want an integer, got %q", s)
	}
	return i, nil
}

type pair struct{ key, val *yaml.Node }

// pairs returns the key/value pairs of a mapping with merge keys ("<<:
// *defaults") resolved: keys written in the mapping win over merged ones,
// and earlier merge sources over later ones. Duplicate keys are problems.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	if depth > 16 {
		d.problem(n.Line, path, "merge keys (<<) nested too deep")
		return nil
	}
	var own, merged []pair
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.spend(k) {
			return nil
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSources(v, path, depth)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.problem(k.Line, path, "want a key name, got %s", describe(k))
			continue
		}
		if at, dup := first[k.Value]; dup {
			d.problem(k.Line, path, "duplicate key %q (first at line %d)", k.Value, at)
			continue
		}
		first[k.Value] = k.Line
		own = append(own, pair{k, v})
	}
	for _, p := range merged {
		if _, ok := first[p.key.Value]; !ok {
			first[p.key.Value] = p.key.Line
			own = append(own, p)
		}
	}
	return own
}

func (d *decoder) mergeSources(v *yaml.Node, path string, depth int) []pair {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v, path, depth+1)
	case yaml.SequenceNode:
		var out []pair
		for _, s := range v.Content {
			if s.Kind == yaml.AliasNode && s.Alias != nil {
				s = s.Alias
			}
			if s.Kind != yaml.MappingNode {
				d.problem(s.Line, path, "merge (<<) wants a mapping or a list of mappings, got %s", describe(s))
				continue
			}
			out = append(out, d.pairs(s, path, depth+1)...) // the first source wins
		}
		return out
	}
	d.problem(v.Line, path, "merge (<<) wants a mapping or a list of mappings, got %s", describe(v))
	return nil
}

func (d *decoder) structValue(n *yaml.Node, v reflect.Value, path string, line int) bool {
	if isNull(n) {
		return false
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "want a mapping, got %s", describe(n))
		return false
	}
	t := v.Type()
	fields := yamlFields(t)
	if f, ok := t.FieldByName("Line"); ok && f.Type.Kind() == reflect.Int && f.Tag.Get("yaml") == "-" {
		v.FieldByIndex(f.Index).SetInt(int64(line))
	}
	for _, p := range d.pairs(n, path, 0) {
		i, ok := fields[p.key.Value]
		if !ok && path == "" && strings.HasPrefix(p.key.Value, "x-") {
			continue // extension keys: a home for YAML anchors
		}
		if !ok {
			d.problem(p.key.Line, path, "unknown key %q%s", p.key.Value, suggest(p.key.Value, fields))
			continue
		}
		d.value(p.val, v.Field(i), joinPath(path, p.key.Value), p.key.Line)
	}
	return true
}

func (d *decoder) mapValue(n *yaml.Node, v reflect.Value, path string) bool {
	if isNull(n) {
		return false
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "want a mapping of names, got %s", describe(n))
		return false
	}
	if v.Type().Key().Kind() != reflect.String {
		d.fail(n.Line, path, "cannot decode into %s", v.Type())
		return false
	}
	for _, p := range d.pairs(n, path, 0) {
		if p.key.Value == "" {
			d.problem(p.key.Line, path, "want a non-empty name")
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(p.val, elem, joinKey(path, p.key.Value), p.key.Line)
		if v.IsNil() { // {} is the same as leaving the mapping out
			v.Set(reflect.MakeMap(v.Type()))
		}
		v.SetMapIndex(reflect.ValueOf(p.key.Value).Convert(v.Type().Key()), elem)
	}
	return true
}

func (d *decoder) sliceValue(n *yaml.Node, v reflect.Value, path string) bool {
	if isNull(n) {
		return false
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, "want a list, got %s", describe(n))
		return false
	}
	if len(n.Content) == 0 {
		return false // [] is the same as leaving the list out
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(item, s.Index(i), path+"["+strconv.Itoa(i)+"]", item.Line)
	}
	v.Set(s)
	return true
}

// isNull reports whether a node is YAML null (written as ~, null or
// nothing), before environment expansion.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// joinPath appends a struct field to a path: "routes[0]" + "cache".
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// joinKey appends a map key to a path: upstreams.shop, or upstreams["a.b"]
// when the key is not a plain name.
func joinKey(path, key string) string {
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return path + "[" + strconv.Quote(key) + "]"
		}
	}
	return joinPath(path, key)
}

// parentPath returns the path one level up: "routes[1].cache.ttl" →
// "routes[1].cache" → "routes[1]" → "routes" → "".
func parentPath(path string) string {
	last, inQuote := 0, false
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == '.' || c == '['):
			last = i
		}
	}
	return path[:last]
}

// suggest returns ` (did you mean "x"?)` for a close known key, or "".
func suggest(key string, fields map[string]int) string {
	best, bestDist := "", 3
	for name := range fields {
		if dist := editDistance(key, name); dist < bestDist || dist == bestDist && best != "" && name < best {
			best, bestDist = name, dist
		}
	}
	if best == "" || bestDist > len(key)/2 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
