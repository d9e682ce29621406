// Package esi implements the ESI 1.0 language (W3C note, all but
// esi:inline) for the gateway's page assembly: a page is parsed once into a
// Template when it is stored, and assembled on every hit by fetching its
// fragments in parallel and writing literal text and fragments in document
// order.
//
// Supported: esi:include (src, alt, onerror="continue"), esi:remove,
// esi:comment, <!--esi ... -->, esi:try/attempt/except,
// esi:choose/when/otherwise with test expressions, esi:vars and variables
// in src, alt and test attributes. Variable values are HTML-escaped where
// they land in esi:vars text and percent-encoded as a URI component where
// they land in src or alt (the whole $(QUERY_STRING) keeps its '&' and
// '='), so a cookie can neither open a tag nor add a parameter. Malformed
// markup never fails a page: the broken construct is kept as text (or
// dropped) and a Warning says where.
//
// Variables and the page URL are read only by the goroutine calling
// Assemble; fetch goroutines see nothing but resolved URLs copied into the
// assembly's own buffer, as fasthttp's request rules require.
package esi

import (
	"fmt"
	"unsafe"
)

// nodeKind is the kind of one template instruction.
type nodeKind uint8

const (
	nLit     nodeKind = iota // literal bytes
	nText                    // text with variables (inside esi:vars)
	nInclude                 // esi:include
	nTry                     // esi:try: kids = attempt, alt = except
	nChoose                  // esi:choose
	nBlock                   // parse-time only: a closed attempt/except/when/otherwise
)

// node is one instruction of a template tree.
type node struct {
	kind  nodeKind
	block blockKind // nBlock: which block
	lit   []byte    // nLit: a sub-slice of Template.src
	parts []part    // nText
	inc   *include  // nInclude
	kids  []node    // nTry: attempt; nBlock: content
	alt   []node    // nTry: except
	whens []branch  // nChoose, otherwise (if any) last
	test  *expr     // nBlock of a when; nil when missing or invalid
}

// include is a parsed esi:include.
type include struct {
	src, alt []part
	hasAlt   bool
	cont     bool // onerror="continue"
}

// branch is one esi:when (test set, or never taken when its test was
// invalid) or the esi:otherwise (otherwise set).
type branch struct {
	test      *expr
	otherwise bool
	kids      []node
}

// Warning reports one piece of malformed or unsupported markup that Parse
// kept as text or dropped.
type Warning struct {
	// Offset is the byte offset in the parsed body.
	Offset int
	// Msg says what was wrong and what was done with it.
	Msg string
}

// String formats the warning for logs.
func (w Warning) String() string { return fmt.Sprintf("esi: offset %d: %s", w.Offset, w.Msg) }

// Template is a parsed ESI page: literal segments of one owned copy of the
// body plus a small instruction tree. It is immutable after Parse and safe
// for concurrent Assemble calls; keep it in the cache entry beside (or
// instead of) the body.
type Template struct {
	src      []byte
	root     []node
	warnings []Warning
	dropped  int // warnings beyond maxWarnings
	includes int
	size     int
}

// Source returns the body the template was parsed from (the template's own
// copy). Callers must not modify it.
func (t *Template) Source() []byte { return t.src }

// Warnings returns what Parse found malformed or unsupported, at most the
// first 32 (MoreWarnings says how many more). Callers must not modify it.
func (t *Template) Warnings() []Warning { return t.warnings }

// MoreWarnings returns how many warnings were left out of Warnings.
func (t *Template) MoreWarnings() int { return t.dropped }

// Includes returns how many esi:include elements the page itself holds
// (whatever branch they are in; fragments' includes are not counted).
func (t *Template) Includes() int { return t.includes }

// Size returns an estimate of the memory the template holds, in bytes
// (body copy, instructions and decoded attributes), for cache accounting.
func (t *Template) Size() int { return t.size }

const nodeSize = int(unsafe.Sizeof(node{}))
