package ratelimit

// The index of a shard is an open-addressing hash table with linear probing
// over int32 positions in ents; -1 marks an empty slot. It is kept at most
// half full, so probes are short, and deletion shifts the following run back
// (no tombstones), so a table that churns through millions of keys never
// degrades or grows past twice its shard's bound.

// find returns the slot holding k (of hash h) and its entry, or the empty
// slot where k would go and -1.
func (s *shard) find(k *Key, h uint64) (uint64, int32) {
	if len(s.slots) == 0 {
		return 0, -1
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := s.slots[i]
		if e < 0 || s.ents[e].key == *k {
			return i, e
		}
	}
}

// place records entry e (of hash h) in the index; the key must be absent.
func (s *shard) place(h uint64, e int32) {
	slot, _ := s.find(&s.ents[e].key, h)
	s.slots[slot] = e
}

// reserve grows the index so that n entries keep it at most half full.
func (s *shard) reserve(seed uint64, n int) {
	if 2*n <= len(s.slots) {
		return
	}
	size := max(32, 2*len(s.slots))
	for size < 2*n {
		size *= 2
	}
	s.slots = make([]int32, size)
	for i := range s.slots {
		s.slots[i] = -1
	}
	// Every entry but the one being added (the last) is re-indexed.
	for e := range int32(n - 1) {
		s.place(s.ents[e].key.hash(seed), e)
	}
}

// remove empties slot i and shifts back the entries of the run after it
// that would otherwise become unreachable (Knuth's algorithm R).
func (s *shard) remove(seed uint64, i uint64) {
	mask := uint64(len(s.slots) - 1)
	for {
		s.slots[i] = -1
		j := i
		for {
			j = (j + 1) & mask
			e := s.slots[j]
			if e < 0 {
				return
			}
			home := s.ents[e].key.hash(seed) & mask
			// The entry at j may stay unless its home lies cyclically
			// outside (i, j].
			if (i < j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
				s.slots[i] = e
				i = j
				break
			}
		}
	}
}
