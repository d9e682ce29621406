package quiz

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
)

// Token format. A token is base64url (no padding) of 37 bytes:
//
//	version (1) | key id (4) | question id (8) | issued, unix ms (8) | mac (16)
//
// mac is HMAC-SHA256, truncated to 128 bits, keyed with the quiz secret
// whose key id is given, over a domain label, the first 21 bytes above, and
// the length-prefixed shopper and item ids. The answer is not in the token:
// checking needs the bank (which every node holds) and the secret, no
// per-token state. The key id (the first 4 bytes of an HMAC of a fixed
// label under the secret) lets a node pick the current or the previous
// secret without trying both.
const (
	tokenVersion = 1
	headerLen    = 1 + 4 + 8 + 8
	macLen       = 16
	rawTokenLen  = headerLen + macLen
	// TokenLen is the length of a token in characters.
	TokenLen = (rawTokenLen*8 + 5) / 6
)

// tokenEncoding refuses non-canonical trailing bits, so one token has one
// spelling.
var tokenEncoding = base64.RawURLEncoding.Strict()

// macDomain separates quiz MACs from any other use of the secret.
var macDomain = []byte("edge quiz token v1\x00")

// token is a parsed (not yet verified) token.
type token struct {
	header   [headerLen]byte
	mac      [macLen]byte
	kid      uint32
	question uint64
	issued   int64 // unix ms
}

// parseToken decodes s; it checks the form and version only, never the
// MAC. It does not allocate.
func parseToken(s []byte) (token, bool) {
	var t token
	if len(s) != TokenLen {
		return t, false
	}
	var raw [rawTokenLen]byte
	n, err := tokenEncoding.Decode(raw[:], s)
	if err != nil || n != rawTokenLen || raw[0] != tokenVersion {
		return t, false
	}
	copy(t.header[:], raw[:headerLen])
	copy(t.mac[:], raw[headerLen:])
	t.kid = binary.BigEndian.Uint32(raw[1:5])
	t.question = binary.BigEndian.Uint64(raw[5:13])
	t.issued = int64(binary.BigEndian.Uint64(raw[13:21]))
	if t.question == 0 || t.issued < 0 {
		return t, false
	}
	return t, true
}

// signer holds the current secret and, during a rotation, the previous one.
// It is immutable; a reload builds a new one.
type signer struct {
	keys []*macKey // [0] signs and checks; [1] (optional) only checks
}

// macKey is one secret with a pool of keyed HMAC states.
type macKey struct {
	id   uint32
	pool sync.Pool // *macState
}

// macState is one reusable HMAC computation with its scratch space.
type macState struct {
	h   hash.Hash
	hdr [headerLen]byte
	len [4]byte
	sum [sha256.Size]byte
}

func newSigner(secret, previous string) (*signer, error) {
	if secret == "" {
		return nil, errors.New("quiz: no secret")
	}
	s := &signer{keys: []*macKey{newMacKey(secret)}}
	if previous != "" && previous != secret {
		k := newMacKey(previous)
		if k.id == s.keys[0].id {
			return nil, errors.New("quiz: secret and previous secret have the same key id; choose another secret")
		}
		s.keys = append(s.keys, k)
	}
	return s, nil
}

func newMacKey(secret string) *macKey {
	key := []byte(secret)
	k := &macKey{}
	k.pool.New = func() any { return &macState{h: hmac.New(sha256.New, key)} }
	m := hmac.New(sha256.New, key)
	m.Write([]byte("edge quiz key id"))
	k.id = binary.BigEndian.Uint32(m.Sum(nil))
	return k
}

// key returns the key with id, or nil.
func (s *signer) key(id uint32) *macKey {
	for _, k := range s.keys {
		if k.id == id {
			return k
		}
	}
	return nil
}

// appendToken appends a token for question q issued at issuedMS (unix ms)
// to user and item, signed with the current secret.
func (s *signer) appendToken(dst []byte, q uint64, issuedMS int64, user, item []byte) []byte {
	k := s.keys[0]
	var raw [rawTokenLen]byte
	raw[0] = tokenVersion
	binary.BigEndian.PutUint32(raw[1:5], k.id)
	binary.BigEndian.PutUint64(raw[5:13], q)
	binary.BigEndian.PutUint64(raw[13:21], uint64(issuedMS))
	k.mac(raw[headerLen:], raw[:headerLen], user, item)
	return tokenEncoding.AppendEncode(dst, raw[:])
}

// verify reports whether t was signed by one of the signer's secrets for
// user and item.
func (s *signer) verify(t *token, user, item []byte) bool {
	k := s.key(t.kid)
	if k == nil {
		return false
	}
	var want [macLen]byte
	k.mac(want[:], t.header[:], user, item)
	return hmac.Equal(want[:], t.mac[:])
}

// mac writes the truncated MAC of header, user and item into dst.
func (k *macKey) mac(dst, header, user, item []byte) {
	m := k.pool.Get().(*macState)
	// The header is copied into the pooled state so that callers' stack
	// arrays do not escape through the hash interface.
	copy(m.hdr[:], header)
	m.h.Reset()
	m.h.Write(macDomain)
	m.h.Write(m.hdr[:])
	binary.BigEndian.PutUint32(m.len[:], uint32(len(user)))
	m.h.Write(m.len[:])
	m.h.Write(user)
	binary.BigEndian.PutUint32(m.len[:], uint32(len(item)))
	m.h.Write(m.len[:])
	m.h.Write(item)
	copy(dst, m.h.Sum(m.sum[:0]))
	k.pool.Put(m)
}
