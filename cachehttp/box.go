package cachehttp

import (
	"sort"
	"unsafe"
)

// An entry is allocated in one piece with the object that holds it when
// it is its URL's only variant (see store.addVariant), and with room for
// its packed bytes: key, secondary key, header lines and body (see
// packEntry). A hit among thousands of URLs finds none of it in the CPU's
// cache. In one piece, what it reads (the object, the entry, the key it
// compares, the lines it sends, the start of the body) is one run of
// adjacent lines, which the CPU fetches as a stream after the first miss,
// not four misses in a row, each waiting for the pointer the one before
// it holds. The object comes last before the room: a lookup reads the
// object, then compares the key at the room's start, the next line.
type entryBox[T any] struct {
	e    Entry
	o    object
	room T // a byte array: the packed bytes
}

// entryPair is an entry and its spare object without room: for packed
// bytes larger than the largest box, allocated apart.
type entryPair struct {
	e Entry
	o object
}

// boxFixed is what a box holds besides its room: the object, the entry,
// and the 8-byte header Go's allocator puts before objects of more than
// 512 bytes that hold pointers. Each box is sized so that it fills one of
// the allocator's size classes exactly (TestBoxesFillSizeClasses).
const boxFixed = 512 + 8

// boxClass is one size of box.
type boxClass struct {
	room  int // bytes of room
	alloc func() (*Entry, []byte)
}

func boxOf[T any]() boxClass {
	var b entryBox[T]
	room := int(unsafe.Sizeof(b.room))
	return boxClass{room: room, alloc: func() (*Entry, []byte) {
		b := new(entryBox[T])
		b.e.spare = &b.o
		return &b.e, unsafe.Slice((*byte)(unsafe.Pointer(&b.room)), room)[:0]
	}}
}

// boxClasses are the boxes by room, one per size class of Go's allocator
// from 576 bytes to 32 KiB (larger objects get whole pages).
var boxClasses = [...]boxClass{
	boxOf[[576 - boxFixed]byte](), boxOf[[640 - boxFixed]byte](), boxOf[[704 - boxFixed]byte](),
	boxOf[[768 - boxFixed]byte](), boxOf[[896 - boxFixed]byte](), boxOf[[1024 - boxFixed]byte](),
	boxOf[[1152 - boxFixed]byte](), boxOf[[1280 - boxFixed]byte](), boxOf[[1408 - boxFixed]byte](),
	boxOf[[1536 - boxFixed]byte](), boxOf[[1792 - boxFixed]byte](), boxOf[[2048 - boxFixed]byte](),
	boxOf[[2304 - boxFixed]byte](), boxOf[[2688 - boxFixed]byte](), boxOf[[3072 - boxFixed]byte](),
	boxOf[[3200 - boxFixed]byte](), boxOf[[3456 - boxFixed]byte](), boxOf[[4096 - boxFixed]byte](),
	boxOf[[4864 - boxFixed]byte](), boxOf[[5376 - boxFixed]byte](), boxOf[[6144 - boxFixed]byte](),
	boxOf[[6528 - boxFixed]byte](), boxOf[[6784 - boxFixed]byte](), boxOf[[6912 - boxFixed]byte](),
	boxOf[[8192 - boxFixed]byte](), boxOf[[9472 - boxFixed]byte](), boxOf[[9728 - boxFixed]byte](),
	boxOf[[10240 - boxFixed]byte](), boxOf[[10880 - boxFixed]byte](), boxOf[[12288 - boxFixed]byte](),
	boxOf[[13568 - boxFixed]byte](), boxOf[[14336 - boxFixed]byte](), boxOf[[16384 - boxFixed]byte](),
	boxOf[[18432 - boxFixed]byte](), boxOf[[19072 - boxFixed]byte](), boxOf[[20480 - boxFixed]byte](),
	boxOf[[21760 - boxFixed]byte](), boxOf[[24576 - boxFixed]byte](), boxOf[[27264 - boxFixed]byte](),
	boxOf[[28672 - boxFixed]byte](), boxOf[[32768 - boxFixed]byte](),
}

// allocEntry returns a zero entry with its spare object and an empty
// buffer with room for at least n packed bytes: the box's own room when
// one is large enough, or else an allocation of its own.
func allocEntry(n int) (*Entry, []byte) {
	if i := sort.Search(len(boxClasses), func(i int) bool { return boxClasses[i].room >= n }); i < len(boxClasses) {
		return boxClasses[i].alloc()
	}
	p := new(entryPair)
	p.e.spare = &p.o
	return &p.e, make([]byte, 0, n)
}
