package esi

import (
	"bytes"
	"errors"
	"fmt"
)

// Expression limits keep a hostile test attribute from costing much at
// parse or evaluation time.
const (
	maxExprLen   = 4096 // bytes in one test attribute
	maxExprNodes = 256  // operators and comparisons
	maxExprDepth = 32   // nesting of '!' and parentheses
)

// errExpr is wrapped by every expression parse error.
var errExpr = errors.New("esi: bad test expression")

// eop is an expression node's operator.
type eop uint8

const (
	eTruth eop = iota // the operand alone, as a boolean
	eNot
	eAnd
	eOr
	eEq
	eNe
	eLt
	eGt
	eLe
	eGe
)

// operand is a literal (string, number, true/false) or a variable.
type operand struct {
	lit []byte
	ref *varRef
}

func (o *operand) value(v Vars) []byte {
	if o.ref != nil {
		return o.ref.value(v)
	}
	return o.lit
}

// enode is one node of a compiled expression; l and r index expr.nodes.
type enode struct {
	op   eop
	l, r int32
	a, b operand
}

// expr is a compiled esi:when test.
//
// Semantics (ESI 1.0 §5 with the gaps filled): a comparison of two numbers
// is numeric, anything else compares bytes; a comparison with an empty or
// undefined operand is false (give the variable a default with
// $(VAR|'x') to compare it anyway); an operand alone is true unless it is
// empty, "false" or a number equal to 0. '!' binds tightest and applies to
// a whole comparison (!$(A)=='b' is !($(A)=='b')), then '&', then '|'.
// '&&' and '||' are accepted as synonyms.
type expr struct {
	nodes []enode
	root  int32
}

// eval evaluates the expression against the request's variables.
func (e *expr) eval(v Vars) bool {
	if e == nil || len(e.nodes) == 0 {
		return false
	}
	return e.evalNode(e.root, v)
}

func (e *expr) evalNode(i int32, v Vars) bool {
	n := &e.nodes[i]
	switch n.op {
	case eTruth:
		return truthy(n.a.value(v))
	case eNot:
		return !e.evalNode(n.l, v)
	case eAnd:
		return e.evalNode(n.l, v) && e.evalNode(n.r, v)
	case eOr:
		return e.evalNode(n.l, v) || e.evalNode(n.r, v)
	}
	return compare(n.op, n.a.value(v), n.b.value(v))
}

// truthy is an operand's boolean value.
func truthy(b []byte) bool {
	if len(b) == 0 || bytes.Equal(b, strFalse) {
		return false
	}
	if f, ok := parseNumber(b); ok && f == 0 {
		return false
	}
	return true
}

// compare applies a comparison operator.
func compare(op eop, a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	var c int
	fa, okA := parseNumber(a)
	fb, okB := parseNumber(b)
	if okA && okB {
		switch {
		case fa < fb:
			c = -1
		case fa > fb:
			c = 1
		}
	} else {
		c = bytes.Compare(a, b)
	}
	switch op {
	case eEq:
		return c == 0
	case eNe:
		return c != 0
	case eLt:
		return c < 0
	case eGt:
		return c > 0
	case eLe:
		return c <= 0
	case eGe:
		return c >= 0
	}
	return false
}

// parseNumber parses an optionally signed decimal number with an optional
// fraction ("-12", "3.25") without allocating.
func parseNumber(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	var f float64
	digits := 0
	for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		f = f*10 + float64(b[i]-'0')
		digits++
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		scale, frac := 0.1, 0
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
			f += float64(b[i]-'0') * scale
			scale /= 10
			frac++
		}
		if frac == 0 {
			return 0, false
		}
	}
	if i != len(b) {
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

// exprParser is a recursive-descent parser over one test attribute.
type exprParser struct {
	s     []byte
	pos   int
	nodes []enode
	depth int
}

// parseExpr compiles a test expression. The result aliases s, which must
// stay unchanged for the expression's life.
func parseExpr(s []byte) (*expr, error) {
	if len(s) > maxExprLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", errExpr, maxExprLen)
	}
	p := &exprParser{s: s}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.s) {
		return nil, p.errorf("unexpected %q", p.s[p.pos:p.pos+1])
	}
	return &expr{nodes: p.nodes, root: root}, nil
}

func (p *exprParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: at offset %d: %s", errExpr, p.pos, fmt.Sprintf(format, args...))
}

func (p *exprParser) add(n enode) (int32, error) {
	if len(p.nodes) >= maxExprNodes {
		return 0, p.errorf("more than %d operations", maxExprNodes)
	}
	p.nodes = append(p.nodes, n)
	return int32(len(p.nodes) - 1), nil
}

func (p *exprParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

// accept consumes the operator tok (and its doubled synonym when double).
func (p *exprParser) accept(tok byte, double bool) bool {
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != tok {
		return false
	}
	// '|' and '&' must not be the start of a comparison like "!=" or "&&"
	// misread; '!' must not be "!=".
	if tok == '!' && p.pos+1 < len(p.s) && p.s[p.pos+1] == '=' {
		return false
	}
	p.pos++
	if double && p.pos < len(p.s) && p.s[p.pos] == tok {
		p.pos++
	}
	return true
}

func (p *exprParser) parseOr() (int32, error) {
	l, err := p.parseAnd()
	if err != nil {
		return 0, err
	}
	for p.accept('|', true) {
		r, err := p.parseAnd()
		if err != nil {
			return 0, err
		}
		if l, err = p.add(enode{op: eOr, l: l, r: r}); err != nil {
			return 0, err
		}
	}
	return l, nil
}

func (p *exprParser) parseAnd() (int32, error) {
	l, err := p.parseUnary()
	if err != nil {
		return 0, err
	}
	for p.accept('&', true) {
		r, err := p.parseUnary()
		if err != nil {
			return 0, err
		}
		if l, err = p.add(enode{op: eAnd, l: l, r: r}); err != nil {
			return 0, err
		}
	}
	return l, nil
}

func (p *exprParser) parseUnary() (int32, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxExprDepth {
		return 0, p.errorf("nested deeper than %d", maxExprDepth)
	}
	if p.accept('!', false) {
		x, err := p.parseUnary()
		if err != nil {
			return 0, err
		}
		return p.add(enode{op: eNot, l: x})
	}
	if p.accept('(', false) {
		x, err := p.parseOr()
		if err != nil {
			return 0, err
		}
		if !p.accept(')', false) {
			return 0, p.errorf("missing ')'")
		}
		return x, nil
	}
	a, err := p.parseOperand()
	if err != nil {
		return 0, err
	}
	op, ok := p.parseCmp()
	if !ok {
		return p.add(enode{op: eTruth, a: a})
	}
	b, err := p.parseOperand()
	if err != nil {
		return 0, err
	}
	return p.add(enode{op: op, a: a, b: b})
}

// parseCmp consumes a comparison operator if one follows.
func (p *exprParser) parseCmp() (eop, bool) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return 0, false
	}
	c := p.s[p.pos]
	next := byte(0)
	if p.pos+1 < len(p.s) {
		next = p.s[p.pos+1]
	}
	switch {
	case c == '=' && next == '=':
		p.pos += 2
		return eEq, true
	case c == '!' && next == '=':
		p.pos += 2
		return eNe, true
	case c == '<' && next == '=':
		p.pos += 2
		return eLe, true
	case c == '>' && next == '=':
		p.pos += 2
		return eGe, true
	case c == '<':
		p.pos++
		return eLt, true
	case c == '>':
		p.pos++
		return eGt, true
	}
	return 0, false
}

// parseOperand reads a quoted string, a number, true/false or a variable.
func (p *exprParser) parseOperand() (operand, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return operand{}, p.errorf("missing operand")
	}
	rest := p.s[p.pos:]
	switch c := rest[0]; {
	case c == '\'':
		return p.parseString()
	case c == '$':
		ref, n, _ := parseVarRef(rest)
		if n == 0 {
			return operand{}, p.errorf("bad variable reference")
		}
		p.pos += n
		return operand{ref: ref}, nil
	case c == '-' || c == '+' || '0' <= c && c <= '9':
		n := 1
		for n < len(rest) && ('0' <= rest[n] && rest[n] <= '9' || rest[n] == '.') {
			n++
		}
		if _, ok := parseNumber(rest[:n]); !ok {
			return operand{}, p.errorf("bad number %q", rest[:n])
		}
		p.pos += n
		return operand{lit: rest[:n]}, nil
	case bytes.HasPrefix(rest, strTrue):
		p.pos += len(strTrue)
		return operand{lit: strTrue}, nil
	case bytes.HasPrefix(rest, strFalse):
		p.pos += len(strFalse)
		return operand{lit: strFalse}, nil
	}
	return operand{}, p.errorf("unexpected %q", rest[:1])
}

// parseString reads a single-quoted literal; a backslash escapes the next
// byte. Literals without escapes alias the input.
func (p *exprParser) parseString() (operand, error) {
	start := p.pos + 1
	escaped := false
	for i := start; i < len(p.s); i++ {
		switch p.s[i] {
		case '\\':
			escaped = true
			i++
		case '\'':
			lit := p.s[start:i]
			if escaped {
				lit = unescapeString(lit)
			}
			p.pos = i + 1
			if lit == nil {
				lit = []byte{}
			}
			return operand{lit: lit}, nil
		}
	}
	return operand{}, p.errorf("unterminated string")
}

func unescapeString(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			i++
		}
		out = append(out, b[i])
	}
	return out
}
