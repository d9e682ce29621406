package esi

import (
	"bytes"
	"fmt"
)

// Parse limits. Markup past them is kept as text with a warning.
const (
	maxNesting  = 32    // open ESI blocks at once
	maxNodes    = 16384 // instructions per template
	maxWarnings = 32    // warnings kept per template
)

// blockKind is the kind of an ESI block element (or the page itself).
type blockKind uint8

const (
	bRoot   blockKind = iota
	bRegion           // <!--esi ... -->
	bTry
	bAttempt
	bExcept
	bChoose
	bWhen
	bOtherwise
	bVars
)

var blockNames = map[string]blockKind{
	"try": bTry, "attempt": bAttempt, "except": bExcept, "choose": bChoose,
	"when": bWhen, "otherwise": bOtherwise, "vars": bVars,
}

// frame is an open block while parsing.
type frame struct {
	kind             blockKind
	name             []byte
	tagStart, tagEnd int
	nodes            []node
	vars             bool // inside esi:vars: text gets variables
	transparent      bool // misplaced attempt/except/when/otherwise
	test             *expr
}

// parser builds the tree with an explicit stack, so that every byte is
// looked at a bounded number of times whatever the nesting.
type parser struct {
	src      []byte
	stack    []frame
	t        *Template
	nodes    int
	regions  int // open <!--esi regions
	cend     int // cached offset of the next "-->", -1 none, -2 unknown
	pendLo   int // pending text [pendLo, pendHi)
	pendHi   int
	closeHit map[string]closeCache // cached findClose answers by tag name
	longForm []byte                // name of an include opened without "/>"
}

// Parse parses an ESI page. The body is copied once; every literal segment
// of the template is a sub-slice of that copy. Parse never fails on
// content: malformed or unsupported markup is kept as text or dropped and
// reported in Template.Warnings, and a body without ESI markup yields a
// template that assembles to the same bytes. The error is reserved for
// future limits and is nil today; on error, serve the body as it is.
func Parse(body []byte) (*Template, error) {
	src := append([]byte(nil), body...)
	p := &parser{src: src, cend: -2, pendLo: -1, pendHi: -1}
	p.t = &Template{src: src, size: len(src)}
	p.stack = append(p.stack, frame{kind: bRoot})
	p.run()
	p.t.root = p.stack[0].nodes
	p.t.size += p.nodes * nodeSize
	return p.t, nil
}

func (p *parser) warn(off int, format string, args ...any) {
	if len(p.t.warnings) >= maxWarnings {
		p.t.dropped++
		return
	}
	p.t.warnings = append(p.t.warnings, Warning{Offset: off, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) run() {
	pos := 0
	for pos < len(p.src) {
		if p.nodes >= maxNodes {
			p.warn(pos, "more than %d instructions: the rest is kept as text", maxNodes)
			break
		}
		at, kind := nextToken(p.src, pos)
		if p.regions > 0 {
			if ce := p.commentEnd(pos); ce >= 0 && (at < 0 || ce < at) {
				p.text(pos, ce)
				p.closeRegion(ce)
				pos = ce + len(tokCommentEnd)
				continue
			}
		}
		if at < 0 {
			break
		}
		p.text(pos, at)
		pos = p.token(at, kind)
	}
	p.text(pos, len(p.src))
	p.finish()
}

// commentEnd returns the offset of the next "-->" at or after pos.
func (p *parser) commentEnd(pos int) int {
	if p.cend == -2 || (p.cend >= 0 && p.cend < pos) {
		p.cend = bytes.Index(p.src[pos:], tokCommentEnd)
		if p.cend >= 0 {
			p.cend += pos
		}
	}
	return p.cend
}

// token handles the markup at `at` and returns where scanning resumes.
func (p *parser) token(at int, kind tokKind) int {
	if kind != tokTagClose {
		p.longForm = nil
	}
	switch kind {
	case tokCommentTag:
		end := at + len(tokComment)
		if len(p.stack) >= maxNesting {
			p.warn(at, "nested deeper than %d: kept as text", maxNesting)
			p.text(at, end)
			return end
		}
		p.push(frame{kind: bRegion, tagStart: at, tagEnd: end})
		p.regions++
		return end
	case tokTagClose:
		name, end, ok := scanCloseTag(p.src, at)
		if !ok {
			p.warn(at, "malformed end tag: kept as text")
			p.text(at, at+len(tokClose))
			return at + len(tokClose)
		}
		return p.closeTag(name, at, end)
	}
	t, ok := scanOpenTag(p.src, at)
	if !ok {
		p.warn(at, "malformed tag: kept as text")
		p.text(at, at+len(tokOpen))
		return at + len(tokOpen)
	}
	return p.openTag(&t)
}

// openTag handles a well-formed start (or empty-element) tag.
func (p *parser) openTag(t *tag) int {
	if t.dropped > 0 {
		p.warn(t.start, "<esi:%s> has more than %d attributes: the rest are ignored", t.name, maxAttrs)
	}
	switch string(t.name) {
	case "include":
		p.include(t)
		if !t.selfClose {
			p.longForm = t.name
		}
		return t.end
	case "comment":
		if !t.selfClose {
			if _, end := p.findClose(t.end, t.name); end >= 0 {
				return end
			}
		}
		return t.end
	case "remove":
		if t.selfClose {
			return t.end
		}
		if _, end := p.findClose(t.end, t.name); end >= 0 {
			return end
		}
		p.warn(t.start, "unclosed <esi:remove>: tag dropped, content kept")
		return t.end
	}
	kind, ok := blockNames[string(t.name)]
	if !ok {
		p.warn(t.start, "unsupported <esi:%s>: kept as text", t.name)
		p.text(t.start, t.end)
		return t.end
	}
	if t.selfClose {
		return t.end // an empty block outputs nothing
	}
	if len(p.stack) >= maxNesting {
		p.warn(t.start, "nested deeper than %d: kept as text", maxNesting)
		p.text(t.start, t.end)
		return t.end
	}
	f := frame{kind: kind, name: t.name, tagStart: t.start, tagEnd: t.end}
	top := &p.stack[len(p.stack)-1]
	switch kind {
	case bAttempt, bExcept:
		f.transparent = top.kind != bTry
	case bWhen, bOtherwise:
		f.transparent = top.kind != bChoose
	}
	if f.transparent {
		p.warn(t.start, "<esi:%s> outside its parent: tag dropped, content kept", t.name)
	}
	if kind == bWhen && !f.transparent {
		raw, has := t.attr("test")
		if !has {
			p.warn(t.start, "<esi:when> without test: never taken")
		} else {
			x, err := parseExpr(p.decodeAttr(raw))
			if err != nil {
				p.warn(t.start, "<esi:when> test: %v: never taken", err)
			}
			f.test = x
		}
	}
	p.push(f)
	return t.end
}

// include appends an esi:include instruction.
func (p *parser) include(t *tag) {
	inc := &include{}
	src, hasSrc := t.attr("src")
	if !hasSrc || len(src) == 0 {
		p.warn(t.start, "<esi:include> without src: it always fails")
	}
	inc.src = p.attrParts(t.start, src)
	if alt, ok := t.attr("alt"); ok && len(alt) > 0 {
		inc.alt, inc.hasAlt = p.attrParts(t.start, alt), true
	}
	if v, ok := t.attr("onerror"); ok {
		inc.cont = string(p.decodeAttr(v)) == "continue"
	}
	p.t.includes++
	p.add(node{kind: nInclude, inc: inc})
}

// decodeAttr returns the attribute value with entities decoded; values
// without '&' alias the template's source.
func (p *parser) decodeAttr(raw []byte) []byte {
	if bytes.IndexByte(raw, '&') < 0 {
		return raw
	}
	out := appendEntityDecoded(make([]byte, 0, len(raw)), raw)
	p.t.size += cap(out)
	return out
}

// attrParts decodes an attribute and splits it into literal and variable
// parts.
func (p *parser) attrParts(off int, raw []byte) []part {
	v := p.decodeAttr(raw)
	parts, unknown := compileParts(v)
	if unknown > 0 {
		p.warn(off, "unknown variable: it is empty")
	}
	if parts == nil {
		return []part{{lit: v}}
	}
	return parts
}

// closeCache remembers one findClose answer: searching from `from` found
// the first end tag at `at` (-1: none), ending at `end`.
type closeCache struct{ from, at, end int }

// findClose is findClose with its answer cached per tag name, so that many
// unclosed elements cost one scan, not one scan each.
func (p *parser) findClose(pos int, name []byte) (at, end int) {
	if c, ok := p.closeHit[string(name)]; ok && pos >= c.from && (c.at < 0 || pos <= c.at) {
		return c.at, c.end
	}
	at, end = findClose(p.src, pos, name)
	if p.closeHit == nil {
		p.closeHit = make(map[string]closeCache)
	}
	p.closeHit[string(name)] = closeCache{from: pos, at: at, end: end}
	return at, end
}

// closeTag handles a well-formed end tag.
func (p *parser) closeTag(name []byte, at, end int) int {
	if open := p.longForm; open != nil {
		p.longForm = nil
		if bytes.Equal(open, name) {
			return end // "<esi:include ...></esi:include>": the long form of an empty element
		}
	}
	for k := len(p.stack) - 1; k > 0; k-- {
		f := &p.stack[k]
		if f.kind == bRegion {
			break
		}
		if bytes.Equal(f.name, name) {
			p.closeTo(k, at)
			return end
		}
	}
	p.warn(at, "</esi:%s> without its start tag: kept as text", name)
	p.text(at, end)
	return end
}

// closeRegion ends the innermost <!--esi region at "-->".
func (p *parser) closeRegion(at int) {
	for k := len(p.stack) - 1; k > 0; k-- {
		if p.stack[k].kind == bRegion {
			p.closeTo(k, at)
			p.regions--
			return
		}
	}
}

// closeTo closes the frame at stack index k, closing the frames above it
// first as if their end tags had been written there.
func (p *parser) closeTo(k, at int) {
	p.flush()
	for len(p.stack)-1 > k {
		f := p.stack[len(p.stack)-1]
		p.warn(f.tagStart, "<esi:%s> not closed before offset %d: closed there", f.name, at)
		p.pop()
	}
	p.pop()
}

// finish handles blocks still open at the end of the body: their start tag
// is kept as text and their content is kept in place.
func (p *parser) finish() {
	p.flush()
	for len(p.stack) > 1 {
		f := p.stack[len(p.stack)-1]
		p.stack = p.stack[:len(p.stack)-1]
		name := f.name
		if f.kind == bRegion {
			name = []byte("--esi")
		}
		p.warn(f.tagStart, "unclosed <%s>: start tag kept as text", name)
		p.addLit(f.tagStart, f.tagEnd)
		for i := range f.nodes {
			if n := &f.nodes[i]; n.kind == nBlock {
				p.appendNodes(n.kids)
			} else {
				p.appendNodes(f.nodes[i : i+1])
			}
		}
	}
}

func (p *parser) push(f frame) {
	p.flush()
	top := &p.stack[len(p.stack)-1]
	f.vars = top.vars || f.kind == bVars
	p.stack = append(p.stack, f)
}

// pop closes the top frame and hands its result to the frame below.
func (p *parser) pop() {
	p.flush()
	f := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	switch {
	case f.kind == bRegion || f.kind == bVars || f.transparent:
		p.appendNodes(f.nodes)
	case f.kind == bTry:
		p.finishTry(&f)
	case f.kind == bChoose:
		p.finishChoose(&f)
	default: // attempt, except, when, otherwise in their parent
		p.add(node{kind: nBlock, block: f.kind, kids: f.nodes, test: f.test})
	}
}

func (p *parser) finishTry(f *frame) {
	n := node{kind: nTry}
	var attempt, except bool
	for _, c := range f.nodes {
		switch {
		case p.skipText(f, &c):
		case c.kind == nBlock && c.block == bAttempt && !attempt:
			n.kids, attempt = c.kids, true
		case c.kind == nBlock && c.block == bExcept && !except:
			n.alt, except = c.kids, true
		default:
			p.warn(f.tagStart, "<esi:try> holds more than one attempt and one except: extra content dropped")
		}
	}
	if !attempt {
		p.warn(f.tagStart, "<esi:try> without <esi:attempt>: outputs nothing")
		return
	}
	p.add(n)
}

// skipText reports whether c is text directly inside a closed try or
// choose, which is dropped (with a warning unless it is white space). Text
// is only dropped once the block is known to be closed: in an unclosed
// block it is kept like the rest of the page.
func (p *parser) skipText(f *frame, c *node) bool {
	if c.kind != nLit && c.kind != nText {
		return false
	}
	if c.kind == nText || len(bytes.TrimSpace(c.lit)) > 0 {
		p.warn(f.tagStart, "text directly inside <esi:%s>: dropped", f.name)
	}
	return true
}

func (p *parser) finishChoose(f *frame) {
	n := node{kind: nChoose}
	var other *branch
	for _, c := range f.nodes {
		switch {
		case p.skipText(f, &c):
		case c.kind == nBlock && c.block == bWhen:
			n.whens = append(n.whens, branch{test: c.test, kids: c.kids})
		case c.kind == nBlock && c.block == bOtherwise && other == nil:
			other = &branch{otherwise: true, kids: c.kids}
		default:
			p.warn(f.tagStart, "<esi:choose> holds something other than when and one otherwise: dropped")
		}
	}
	if other != nil {
		n.whens = append(n.whens, *other)
	}
	if len(n.whens) == 0 {
		p.warn(f.tagStart, "<esi:choose> without <esi:when>: outputs nothing")
		return
	}
	p.add(n)
}

// add appends one instruction to the innermost open block.
func (p *parser) add(n node) {
	p.flush()
	top := &p.stack[len(p.stack)-1]
	top.nodes = append(top.nodes, n)
	p.nodes++
}

// appendNodes moves already counted instructions into the innermost block.
func (p *parser) appendNodes(ns []node) {
	p.flush()
	top := &p.stack[len(p.stack)-1]
	top.nodes = append(top.nodes, ns...)
}

// text records src[lo:hi] as text of the innermost block; adjacent text is
// merged before it is turned into an instruction.
func (p *parser) text(lo, hi int) {
	if hi <= lo {
		return
	}
	if p.pendHi == lo {
		p.pendHi = hi
		return
	}
	p.flush()
	p.pendLo, p.pendHi = lo, hi
}

// flush turns the pending text into an instruction of the innermost block.
func (p *parser) flush() {
	lo, hi := p.pendLo, p.pendHi
	if lo < 0 || hi <= lo {
		return
	}
	p.pendLo, p.pendHi = -1, -1
	top := &p.stack[len(p.stack)-1]
	if top.vars {
		if parts, unknown := compileParts(p.src[lo:hi]); parts != nil {
			if unknown > 0 {
				p.warn(lo, "unknown variable: it is empty")
			}
			top.nodes = append(top.nodes, node{kind: nText, parts: parts})
			p.nodes++
			p.t.size += len(parts) * 48
			return
		}
	}
	top.nodes = append(top.nodes, node{kind: nLit, lit: p.src[lo:hi:hi]})
	p.nodes++
}

// addLit appends src[lo:hi] as a literal instruction, whatever the block.
func (p *parser) addLit(lo, hi int) {
	p.add(node{kind: nLit, lit: p.src[lo:hi:hi]})
}
