package quiz

import (
	"strings"
	"testing"
)

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	sg, err := newSigner(secretA, "")
	if err != nil {
		t.Fatal(err)
	}
	tok := sg.appendToken(nil, 0xabcdef0123456789, 1_700_000_000_123, []byte("u1"), []byte("42"))
	if len(tok) != TokenLen || TokenLen != 50 {
		t.Fatalf("token %q of %d characters, want %d", tok, len(tok), TokenLen)
	}
	if strings.ContainsAny(string(tok), "+/=") {
		t.Fatalf("token %q is not URL-safe", tok)
	}
	p, ok := parseToken(tok)
	if !ok || p.question != 0xabcdef0123456789 || p.issued != 1_700_000_000_123 {
		t.Fatalf("parse: %+v %v", p, ok)
	}
	if !sg.verify(&p, []byte("u1"), []byte("42")) {
		t.Fatal("own token refused")
	}
	for _, c := range []struct{ user, item string }{{"u2", "42"}, {"u1", "4"}, {"u14", "2"}, {"", "u142"}} {
		if sg.verify(&p, []byte(c.user), []byte(c.item)) {
			t.Errorf("token for u1/42 accepted for %q/%q", c.user, c.item)
		}
	}
	other, _ := newSigner(secretB, "")
	if other.verify(&p, []byte("u1"), []byte("42")) {
		t.Fatal("token accepted under another secret")
	}
}

func TestParseTokenRefuses(t *testing.T) {
	t.Parallel()
	sg, _ := newSigner(secretA, "")
	good := string(sg.appendToken(nil, 1, 1, []byte("u"), []byte("i")))
	// The last character carries 2 unused bits: another spelling of the
	// same bytes must be refused (one token, one spelling).
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, good[len(good)-1])
	alt := good[:len(good)-1] + string(alphabet[i|1])
	cases := map[string]string{
		"empty":         "",
		"short":         good[:len(good)-1],
		"long":          good + "A",
		"padding":       good[:len(good)-2] + "==",
		"std alphabet":  strings.Repeat("+", TokenLen),
		"version":       string(tokenEncoding.AppendEncode(nil, append([]byte{2}, make([]byte, rawTokenLen-1)...))),
		"zero question": string(tokenEncoding.AppendEncode(nil, append([]byte{1}, make([]byte, rawTokenLen-1)...))),
		"bad trailing":  alt,
	}
	for name, s := range cases {
		if s == good {
			continue
		}
		if _, ok := parseToken([]byte(s)); ok {
			t.Errorf("%s: %q parsed", name, s)
		}
	}
}

func TestSignerRotation(t *testing.T) {
	t.Parallel()
	if _, err := newSigner("", ""); err == nil {
		t.Fatal("empty secret accepted")
	}
	old, _ := newSigner(secretA, "")
	tok := old.appendToken(nil, 7, 7, []byte("u"), []byte("i"))
	p, _ := parseToken(tok)
	rotating, _ := newSigner(secretB, secretA)
	if !rotating.verify(&p, []byte("u"), []byte("i")) {
		t.Fatal("previous secret refused")
	}
	same, _ := newSigner(secretA, secretA)
	if len(same.keys) != 1 {
		t.Fatal("previous equal to current should be ignored")
	}
}
