// Package pages holds the bytes every server of the comparison run serves:
// the origin answers with them, the ceiling server returns them as they
// are, and the runner checks that each server under test sends exactly
// the bytes a client should see.
//
// A page that includes fragments exists in two markups, ESI
// (<esi:include src="/frag/c1"/>) for edge and Varnish and SSI
// (<!--# include virtual="/frag/c1" -->) for nginx; both assemble to the
// same bytes, Assembled.
package pages

import (
	"bytes"
	"fmt"
	"strconv"
)

// Size is the length in bytes of the hot page, of every /u/{n} page, of
// the /slow/ page and of an assembled page: 4 KiB, a typical product page
// after compression.
const Size = 4096

// URLs is how many distinct /u/{n} pages the origin serves by default
// (n from 0 to URLs-1).
const URLs = 10000

// Kind tells the two families of pages with three fragments apart.
type Kind byte

const (
	// Cached pages include /frag/c1, /frag/c2 and /frag/c3, which the origin
	// marks cacheable for an hour.
	Cached Kind = 'c'
	// Uncached pages include /frag/u1, /frag/u2 and /frag/u3, which the
	// origin answers after a delay and marks no-store.
	Uncached Kind = 'u'
)

// Name is the word used in paths for the kind: "cached" or "uncached".
func (k Kind) Name() string {
	if k == Uncached {
		return "uncached"
	}
	return "cached"
}

// Fragments is the number of includes of a page.
const Fragments = 3

// FragmentSize is the length in bytes of one fragment.
const FragmentSize = 512

// Hot is the page behind /hot.
func Hot() []byte { return page("hot", "One product everyone refreshes.", Size) }

// U is the page behind /u/{n}: same size as Hot, different bytes per n.
func U(n int) []byte {
	return page("u/"+strconv.Itoa(n), "Product "+strconv.Itoa(n)+" of the catalogue.", Size)
}

// Slow is the page behind /slow/{id}, whatever the id: same size as Hot.
func Slow() []byte { return page("slow", "A page the origin takes a while to render.", Size) }

// FragmentPath is the path of fragment i (1-based) of kind k: /frag/c1.
func FragmentPath(k Kind, i int) string { return "/frag/" + string(k) + strconv.Itoa(i) }

// Fragment is the body of fragment i (1-based) of kind k.
func Fragment(k Kind, i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<div class=\"frag\" id=\"%c%d\"><h2>Fragment %c%d</h2><p>", k, i, k, i)
	filler(&b, FragmentSize-b.Len()-len("</p></div>\n"))
	b.WriteString("</p></div>\n")
	return b.Bytes()
}

// ESI is the page of kind k with ESI includes, served at /esi/{kind}.
func ESI(k Kind) []byte {
	return template(k, func(path string) string { return `<esi:include src="` + path + `"/>` })
}

// SSI is the page of kind k with SSI includes, served at /ssi/{kind}.
func SSI(k Kind) []byte {
	return template(k, func(path string) string { return `<!--# include virtual="` + path + `" -->` })
}

// Assembled is what a client of /esi/{kind} or /ssi/{kind} must receive:
// the page with every include replaced by its fragment. It is Size bytes
// long.
func Assembled(k Kind) []byte {
	return template(k, func(path string) string {
		return string(Fragment(k, int(path[len(path)-1]-'0')))
	})
}

// skeletonSize is the page without its fragments, so that the assembled
// page is Size bytes long.
const skeletonSize = Size - Fragments*FragmentSize

// template builds a page of kind k whose includes are written by include.
// The skeleton around the includes is the same for every markup.
func template(k Kind, include func(path string) string) []byte {
	head := head(k.Name(), "A product page assembled from three fragments.")
	const tail = "</body></html>\n"
	// The skeleton is head + three separators + tail; the separators share
	// what is left of skeletonSize.
	left := skeletonSize - len(head) - len(tail)
	var b bytes.Buffer
	b.WriteString(head)
	for i := 1; i <= Fragments; i++ {
		n := left / Fragments
		if i == Fragments {
			n = left - (Fragments-1)*(left/Fragments)
		}
		b.WriteString("<p>")
		filler(&b, n-len("<p></p>\n"))
		b.WriteString("</p>\n")
		b.WriteString(include(FragmentPath(k, i)))
	}
	b.WriteString(tail)
	return b.Bytes()
}

// page builds a plain page of exactly size bytes.
func page(title, lead string, size int) []byte {
	var b bytes.Buffer
	b.WriteString(head(title, lead))
	const tail = "</p></body></html>\n"
	b.WriteString("<p>")
	filler(&b, size-b.Len()-len(tail))
	b.WriteString(tail)
	return b.Bytes()
}

func head(title, lead string) string {
	return "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + title +
		"</title></head>\n<body><h1>" + title + "</h1><p>" + lead + "</p>\n"
}

// filler writes n bytes of readable text (no markup) to b.
func filler(b *bytes.Buffer, n int) {
	const text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. "
	for n > 0 {
		m := min(n, len(text))
		b.WriteString(text[:m])
		n -= m
	}
}
