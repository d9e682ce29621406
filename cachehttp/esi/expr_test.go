package esi

import (
	"errors"
	"strings"
	"testing"
)

func TestExprEval(t *testing.T) {
	t.Parallel()
	vars := &testVars{
		cookies: map[string]string{"grp": "gold", "n": "10", "zero": "0", "f": "false"},
		query:   map[string]string{"page": "2"},
		host:    "shop.example",
		ua:      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0",
		lang:    "de-DE,de;q=0.9,en;q=0.5,fr;q=0",
	}
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{`1==1`, true},
		{`1 != 1`, false},
		{`'a' == 'a'`, true},
		{`'a' < 'b'`, true},
		{`'b' <= 'a'`, false},
		{`'b' >= 'b'`, true},
		{`10 > 9`, true},         // numeric, not "10" < "9"
		{`'10' > '9'`, true},     // quoted numbers are numbers too
		{`1.5 < 1.25`, false},    // fractions
		{`-2 < 1`, true},         // signs
		{`'abc' > 'abd'`, false}, // bytes
		{`$(HTTP_COOKIE{grp}) == 'gold'`, true},
		{`$(HTTP_COOKIE{n}) >= 10`, true},
		{`$(HTTP_COOKIE{n}) < 9`, false},
		{`$(QUERY_STRING{page}) == 2`, true},
		{`$(HTTP_HOST) == 'shop.example'`, true},
		{`$(HTTP_COOKIE{none}) != 'gold'`, false}, // empty operand: always false
		{`$(HTTP_COOKIE{none}|'anon') != 'gold'`, true},
		{`'' == ''`, false},
		{`$(HTTP_COOKIE{grp})`, true}, // operand alone
		{`$(HTTP_COOKIE{none})`, false},
		{`$(HTTP_COOKIE{zero})`, false},
		{`$(HTTP_COOKIE{f})`, false},
		{`true`, true},
		{`false`, false},
		{`!false`, true},
		{`!(1==1)`, false},
		{`!$(HTTP_COOKIE{grp})=='x'`, true}, // ! applies to the comparison
		{`1==1 & 2==2`, true},
		{`1==1 & 2==3`, false},
		{`1==2 | 2==2`, true},
		{`1==2 || 2==3`, false},
		{`1==1 && !(2==3)`, true},
		{`1==2 & 1==1 | 1==1`, true},    // & binds tighter than |
		{`1==1 | 1==1 & 1==2`, true},    // 1==1 | (1==1 & 1==2)
		{`(1==1 | 1==1) & 1==2`, false}, // parentheses
		{`$(HTTP_ACCEPT_LANGUAGE{en})`, true},
		{`$(HTTP_ACCEPT_LANGUAGE{de})`, true},
		{`$(HTTP_ACCEPT_LANGUAGE{fr})`, false}, // q=0
		{`$(HTTP_ACCEPT_LANGUAGE{es})`, false},
		{`$(HTTP_ACCEPT_LANGUAGE{en}) == 'true'`, true},
		{`$(HTTP_USER_AGENT{os}) == 'WIN'`, true},
		{`$(HTTP_USER_AGENT{browser}) == 'MOZILLA'`, true},
		{`$(HTTP_USER_AGENT{version}) >= 5`, true},
	} {
		x, err := parseExpr([]byte(tc.expr))
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := x.eval(vars); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestExprStringEscape(t *testing.T) {
	t.Parallel()
	x, err := parseExpr([]byte(`'it\'s' == $(HTTP_COOKIE{q})`))
	if err != nil {
		t.Fatal(err)
	}
	if !x.eval(&testVars{cookies: map[string]string{"q": "it's"}}) {
		t.Error("escaped quote not matched")
	}
}

func TestExprErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		``, `   `, `1 ==`, `== 1`, `(1==1`, `1==1)`, `'abc`, `$(HTTP_HOST`, `abc`,
		`1 == "x"`, `1 === 1`, `1..2 == 1`, `- == 1`, `!`, `& 1==1`, `1==1 &`, `1==1 | `,
		`(` + strings.Repeat("(", maxExprDepth) + `1==1` + strings.Repeat(")", maxExprDepth+1),
		strings.Repeat("1==1 & ", maxExprNodes) + "1==1",
		strings.Repeat(" ", maxExprLen+1),
	} {
		if _, err := parseExpr([]byte(s)); !errors.Is(err, errExpr) {
			t.Errorf("parseExpr(%.40q): err %v, want errExpr", s, err)
		}
	}
}

func TestParseNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s  string
		f  float64
		ok bool
	}{
		{"0", 0, true}, {"42", 42, true}, {"-3", -3, true}, {"+7", 7, true}, {"2.5", 2.5, true},
		{"", 0, false}, {"-", 0, false}, {"1.", 0, false}, {".5", 0, false}, {"1e3", 0, false}, {"12a", 0, false},
	} {
		f, ok := parseNumber([]byte(tc.s))
		if ok != tc.ok || (ok && f != tc.f) {
			t.Errorf("parseNumber(%q) = %v, %v", tc.s, f, ok)
		}
	}
}

func TestExprEvalNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	x, err := parseExpr([]byte(`$(HTTP_COOKIE{grp}) == 'gold' & $(QUERY_STRING{n}|'1') > 0.5`))
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { x.eval(noVars{}) }); n != 0 {
		t.Errorf("eval allocates %v times", n)
	}
}
