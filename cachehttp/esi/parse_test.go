package esi

import (
	"strings"
	"testing"
)

// anyFetcher answers "F" for every URL.
func anyFetcher() *testFetcher {
	f := newFetcher(nil)
	f.fallback = &testFrag{body: "F"}
	return f
}

func TestHasESI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		want bool
	}{
		{"", false},
		{"<html><body>plain</body></html>", false},
		{"<esi", false},
		{"</esi:include>", false},
		{"<ESI:include src='/x'/>", false},
		{`a<esi:include src="/x"/>`, true},
		{"<!--esi x -->", true},
		{"<esi:remove>x</esi:remove>", true},
	} {
		if got := HasESI([]byte(tc.body)); got != tc.want {
			t.Errorf("HasESI(%q) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

func TestParseConstructs(t *testing.T) {
	t.Parallel()
	vars := &testVars{host: "shop.example", cookies: map[string]string{"grp": "gold", "n": "5"}}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"include", `a<esi:include src="/x"/>b`, "aFb"},
		{"include long form", `a<esi:include src="/x"></esi:include>b`, "aFb"},
		{"include long form with text", `a<esi:include src="/x">t</esi:include>b`, "aFtb"},
		{"include unquoted", `a<esi:include src=/x >b`, "aFb"},
		{"include single quotes", `a<esi:include src='/x' />b`, "aFb"},
		{"remove", `a<esi:remove><a href="/x">x</a></esi:remove>b`, "ab"},
		{"remove holds esi", `a<esi:remove><esi:include src="/x"/></esi:remove>b`, "ab"},
		{"comment", `a<esi:comment text="note"/>b`, "ab"},
		{"comment long form", `a<esi:comment text="n">hidden</esi:comment>b`, "ab"},
		{"esi comment", `a<!--esi <esi:include src="/x"/>-->b`, "a Fb"},
		{"esi comment plain text", `a<!--esi <p>shown</p> -->b`, "a <p>shown</p> b"},
		{"html comment untouched", `a<!-- c -->b`, "a<!-- c -->b"},
		{"vars", `<esi:vars>$(HTTP_HOST)/$(HTTP_COOKIE{grp})</esi:vars>`, "shop.example/gold"},
		{"vars default", `<esi:vars>$(HTTP_COOKIE{none}|'anon')</esi:vars>`, "anon"},
		{"vars bare default", `<esi:vars>$(HTTP_COOKIE{none}|anon)</esi:vars>`, "anon"},
		{"vars outside", `$(HTTP_HOST)`, "$(HTTP_HOST)"},
		{"vars unknown variable", `<esi:vars>[$(NOPE)]</esi:vars>`, "[]"},
		{"vars not a reference", `<esi:vars>$(HTTP_HOST</esi:vars>`, "$(HTTP_HOST"},
		{"vars holding include", `<esi:vars><esi:include src="/x"/>$(HTTP_COOKIE{n})</esi:vars>`, "F5"},
		{"choose first true", `<esi:choose><esi:when test="$(HTTP_COOKIE{grp})=='gold'">G</esi:when><esi:when test="1==1">S</esi:when><esi:otherwise>O</esi:otherwise></esi:choose>`, "G"},
		{"choose second", `<esi:choose> <esi:when test="$(HTTP_COOKIE{grp})=='x'">G</esi:when> <esi:when test="$(HTTP_COOKIE{n}) > 4">S</esi:when> </esi:choose>`, "S"},
		{"choose otherwise", `<esi:choose><esi:when test="1==2">A</esi:when><esi:otherwise>O</esi:otherwise></esi:choose>`, "O"},
		{"choose none", `<esi:choose><esi:when test="1==2">A</esi:when></esi:choose>!`, "!"},
		{"choose bad test", `<esi:choose><esi:when test="1 ==">A</esi:when><esi:otherwise>O</esi:otherwise></esi:choose>`, "O"},
		{"choose no test", `<esi:choose><esi:when>A</esi:when><esi:otherwise>O</esi:otherwise></esi:choose>`, "O"},
		{"choose entity test", `<esi:choose><esi:when test="$(HTTP_COOKIE{grp}) == &apos;gold&apos; &amp; 2 &gt; 1">Y</esi:when></esi:choose>`, "Y"},
		{"choose nested", `<esi:choose><esi:when test="1==1"><esi:choose><esi:when test="2==2">in</esi:when></esi:choose></esi:when></esi:choose>`, "in"},
		{"try ok", `<esi:try><esi:attempt>A<esi:include src="/x"/></esi:attempt><esi:except>E</esi:except></esi:try>`, "AF"},
		{"try no except", `<esi:try><esi:attempt>A</esi:attempt></esi:try>`, "A"},
		{"empty blocks", `a<esi:try/><esi:vars/><esi:choose/>b`, "ab"},
		{"no esi", `<p>plain</p>`, "<p>plain</p>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := assemble(t, tc.body, anyFetcher(), vars, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Malformed pages keep their text: nothing after a broken construct is
// lost, and Parse never fails.
func TestParseMalformed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, want string
		warn             bool
	}{
		{"truncated tag", `a<esi:include src="/x"`, `a<esi:include src="/x"`, true},
		{"unterminated quote", `a<esi:include src="/x/>b<p>rest</p>`, `a<esi:include src="/x/>b<p>rest</p>`, true},
		{"bare prefix", `a<esi:`, `a<esi:`, true},
		{"name only", `a<esi:include`, `a<esi:include`, true},
		{"bad name char", `a<esi:include2 src="/x"/>b`, `a<esi:include2 src="/x"/>b`, true},
		{"unknown tag", `a<esi:foo bar="1"/>b`, `a<esi:foo bar="1"/>b`, true},
		{"inline unsupported", `<esi:inline name="x">y</esi:inline>z`, `<esi:inline name="x">y</esi:inline>z`, true},
		{"stray end tag", `a</esi:try>b`, `a</esi:try>b`, true},
		{"broken end tag", `a</esi:try b`, `a</esi:try b`, true},
		{"stray remove end", `a</esi:remove>b`, `a</esi:remove>b`, true},
		{"stray include end", `a</esi:include>b`, `a</esi:include>b`, true},
		{"include end after another tag", `<esi:include src="/x"><esi:comment text="c"/></esi:include>b`, `F</esi:include>b`, true},
		{"unclosed remove", `a<esi:remove>b<p>c</p>`, `ab<p>c</p>`, true},
		{"unclosed vars", `<esi:vars>$(HTTP_HOST) and more`, `<esi:vars>h and more`, true},
		{"unclosed try", `<esi:try><esi:attempt>A<p>b</p>`, `<esi:try><esi:attempt>A<p>b</p>`, true},
		{"unclosed choose", `<esi:choose><esi:when test="1==1">A</esi:when> tail`, `<esi:choose>A tail`, true},
		{"unclosed esi comment", `a<!--esi <esi:include src="/x"/> tail`, `a<!--esi F tail`, true},
		{"implicitly closed attempt", `<esi:try><esi:attempt>A</esi:try>b`, `Ab`, true},
		{"implicitly closed by comment end", `<!--esi <esi:vars>$(HTTP_HOST)-->b`, ` hb`, true},
		{"when outside choose", `<esi:when test="1==2">x</esi:when>y`, `xy`, true},
		{"attempt outside try", `<esi:attempt>x</esi:attempt>`, `x`, true},
		{"text inside choose", `<esi:choose>junk<esi:when test="1==1">A</esi:when></esi:choose>`, `A`, true},
		{"include inside try", `<esi:try><esi:include src="/x"/><esi:attempt>A</esi:attempt></esi:try>`, `A`, true},
		{"choose only otherwise", `<esi:choose><esi:otherwise>O</esi:otherwise><esi:otherwise>P</esi:otherwise></esi:choose>`, `O`, true},
		{"choose empty", `<esi:choose> </esi:choose>b`, `b`, true},
		{"two attempts", `<esi:try><esi:attempt>A</esi:attempt><esi:attempt>B</esi:attempt></esi:try>`, `A`, true},
		{"vars in when", `<esi:vars><esi:choose><esi:when test="1==1">$(HTTP_HOST)</esi:when></esi:choose></esi:vars>`, `h`, false},
		{"too many attributes", `<esi:include a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 src="/x"/>`, ``, true},
		{"attribute without value", `<esi:include checked src="/x"/>`, `F`, false},
		{"try without attempt", `<esi:try><esi:except>E</esi:except></esi:try>b`, `b`, true},
		{"include without src", `a<esi:include/>b`, `ab`, true},
		{"bad variable in src", `a<esi:include src="/x?$(NOPE)"/>b`, `aFb`, true},
		{"end tag crossing comment", `<esi:vars><!--esi </esi:vars> -->x</esi:vars>`, ` </esi:vars> x`, true},
		{"lt alone", `a < b <esi x`, `a < b <esi x`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl := mustParse(t, tc.body)
			if got := len(tpl.Warnings()) > 0; got != tc.warn {
				t.Errorf("warnings: %q, want some: %v", warningsText(tpl), tc.warn)
			}
			out, _, err := tpl.Assemble(t.Context(), nil, testPage, &testVars{host: "h"}, anyFetcher(), testOptions)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("got %q, want %q (warnings %q)", out, tc.want, warningsText(tpl))
			}
		})
	}
}

func TestParseNestingLimit(t *testing.T) {
	t.Parallel()
	const n = maxNesting + 8
	body := strings.Repeat("<esi:vars>", n) + "$(HTTP_HOST)" + strings.Repeat("</esi:vars>", n)
	tpl := mustParse(t, body)
	out, _, err := tpl.Assemble(t.Context(), nil, testPage, &testVars{host: "h"}, nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	// The blocks past the limit are kept as text, both their start and end
	// tags; the variable is still inside the outer vars blocks.
	extra := n - (maxNesting - 1)
	want := strings.Repeat("<esi:vars>", extra) + "h" + strings.Repeat("</esi:vars>", extra)
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if !strings.Contains(warningsText(tpl), "nested deeper") {
		t.Errorf("no nesting warning: %q", warningsText(tpl))
	}
}

func TestParseInstructionLimit(t *testing.T) {
	t.Parallel()
	unit := `<esi:comment text="c"/>x`
	body := strings.Repeat(unit, maxNodes+100)
	tpl := mustParse(t, body)
	out, _, err := tpl.Assemble(t.Context(), nil, testPage, nil, nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(out), unit) || !strings.HasPrefix(string(out), "xxx") {
		t.Errorf("rest of the page not kept as text: ...%q", out[len(out)-60:])
	}
	if !strings.Contains(warningsText(tpl), "instructions") {
		t.Errorf("no limit warning: %q", warningsText(tpl))
	}
}

// Many unclosed elements must not make parsing quadratic.
func TestParseManyUnclosed(t *testing.T) {
	t.Parallel()
	for _, unit := range []string{"<esi:remove>", "<esi:comment text='x'>", "<!--esi ", "<esi:vars>"} {
		body := strings.Repeat(unit+"ab ", 20000)
		tpl := mustParse(t, body)
		out, _, _ := tpl.Assemble(t.Context(), nil, testPage, nil, nil, testOptions)
		if len(out) == 0 || len(tpl.Warnings()) == 0 {
			t.Errorf("%s: output %d bytes, %d warnings", unit, len(out), len(tpl.Warnings()))
		}
	}
}

func TestParseWarningsBounded(t *testing.T) {
	t.Parallel()
	tpl := mustParse(t, strings.Repeat(`<esi:bogus/>`, 100))
	if len(tpl.Warnings()) != maxWarnings || tpl.MoreWarnings() != 100-maxWarnings {
		t.Errorf("warnings %d + %d", len(tpl.Warnings()), tpl.MoreWarnings())
	}
}

func TestParseCopiesBody(t *testing.T) {
	t.Parallel()
	body := []byte(`a<esi:include src="/x"/>b`)
	tpl := mustParse(t, string(body))
	body2 := append([]byte(nil), body...)
	tpl2, _ := Parse(body2)
	for i := range body2 {
		body2[i] = 'z'
	}
	out, _, _ := tpl2.Assemble(t.Context(), nil, testPage, nil, anyFetcher(), testOptions)
	if string(out) != "aFb" {
		t.Errorf("template depends on the caller's buffer: %q", out)
	}
	if string(tpl.Source()) != string(body) || tpl.Includes() != 1 || tpl.Size() < len(body) {
		t.Errorf("Source %q Includes %d Size %d", tpl.Source(), tpl.Includes(), tpl.Size())
	}
}

// Bodies without ESI markup round-trip byte for byte.
func TestParseRoundTrip(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		"", "plain", "<html><!-- c --><script>if (a<b) {}</script></html>",
		"<esi", "$(HTTP_HOST) -->", "</esi", "<!--es", "\x00\xff<",
	} {
		out, _, err := assemble(t, body, nil, nil, Options{})
		if err != nil || out != body {
			t.Errorf("%q: got %q, %v", body, out, err)
		}
	}
}
