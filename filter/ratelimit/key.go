package ratelimit

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
)

// Key names one bucket of the local engine. It is a fixed-size value, so
// looking a bucket up never allocates. Build keys with AddrKey, BytesKey or
// NamespaceKey; the zero Key is a valid (if useless) key.
type Key struct {
	b    [16]byte
	ns   uint64
	kind uint8
}

const (
	kindNone uint8 = iota
	kindAddr
	kindBytes
)

var (
	seedLo = maphash.MakeSeed()
	seedHi = maphash.MakeSeed()
)

// Namespace returns the key-space id of a named limit ("order:ip",
// "order:user.2"...). Keys of different namespaces never share a bucket, so
// one Local can serve every route. Within a process the id depends only on
// the name, so a configuration reload that keeps a limit keeps its buckets.
func Namespace(name string) uint64 {
	return maphash.String(seedLo, name)
}

// AddrKey returns the key of a client address in namespace ns. An IPv4
// address is its own key; an IPv6 address is keyed by its /64 network, the
// block a single subscriber is normally given, so a client cannot escape its
// limit by rotating through its own addresses.
func AddrKey(ns uint64, a netip.Addr) Key {
	k := Key{ns: ns, kind: kindAddr}
	a = a.Unmap()
	k.b = a.As16()
	if a.Is6() {
		clear(k.b[8:])
	}
	return k
}

// BytesKey returns the key of an opaque id (a user or item id) in namespace
// ns: a 128-bit keyed hash of b, so ids of any length fit a fixed-size key
// and two ids share a bucket only with negligible probability (about 2^-128
// per pair; the seeds are random per process, so collisions cannot be
// aimed at).
func BytesKey(ns uint64, b []byte) Key {
	k := Key{ns: ns, kind: kindBytes}
	binary.LittleEndian.PutUint64(k.b[:8], maphash.Bytes(seedLo, b))
	binary.LittleEndian.PutUint64(k.b[8:], maphash.Bytes(seedHi, b))
	return k
}

// NamespaceKey returns the single key of namespace ns, for limits shared by
// every request of a route.
func NamespaceKey(ns uint64) Key { return Key{ns: ns} }

// hash spreads keys over shards. The seed makes the placement unpredictable
// to clients choosing their addresses.
func (k *Key) hash(seed uint64) uint64 {
	h := mix64(seed ^ k.ns ^ uint64(k.kind)<<56)
	h = mix64(h ^ binary.LittleEndian.Uint64(k.b[:8]))
	return mix64(h ^ binary.LittleEndian.Uint64(k.b[8:]))
}

// mix64 is the murmur3 64-bit finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
