package quiz

import (
	"bytes"
	"testing"
)

// FuzzToken feeds arbitrary bytes to the token parser and verifier (seeds
// in testdata/fuzz/FuzzToken). A token that parses must be the one
// canonical spelling of its bytes, and one that verifies must be exactly
// what the signer makes for the same question, time, shopper and item.
func FuzzToken(f *testing.F) {
	sg, err := newSigner(secretA, secretB)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sg.appendToken(nil, 42, 1_796_947_200_000, []byte("u1"), []byte("42")), "u1", "42")
	f.Fuzz(func(t *testing.T, tok []byte, user, item string) {
		p, ok := parseToken(tok)
		if !ok {
			if sg.verify(&p, []byte(user), []byte(item)) {
				t.Fatal("an unparsed token verified")
			}
			return
		}
		if p.question == 0 || p.issued < 0 {
			t.Fatalf("parsed a token with question %d issued %d", p.question, p.issued)
		}
		raw := append(p.header[:], p.mac[:]...)
		if enc := tokenEncoding.AppendEncode(nil, raw); !bytes.Equal(enc, tok) {
			t.Fatalf("token %q parsed but its canonical spelling is %q", tok, enc)
		}
		if !sg.verify(&p, []byte(user), []byte(item)) {
			return
		}
		k := sg.key(p.kid)
		var want [macLen]byte
		k.mac(want[:], p.header[:], []byte(user), []byte(item))
		if want != p.mac {
			t.Fatal("verified a token whose MAC differs")
		}
		if k == sg.keys[0] {
			if again := sg.appendToken(nil, p.question, p.issued, []byte(user), []byte(item)); !bytes.Equal(again, tok) {
				t.Fatalf("verified %q, the signer makes %q", tok, again)
			}
		}
	})
}
