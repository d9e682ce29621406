package cachehttp

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// Go's allocator size classes from 512 bytes up (internal/runtime/gc).
var goSizeClasses = []int{512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048,
	2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
	10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

// Each box, with the allocator's header, fills a size class exactly, and
// boxFixed is what the object and the entry take (update it when either
// changes size).
func TestBoxesFillSizeClasses(t *testing.T) {
	if got := int(unsafe.Sizeof(entryPair{})) + 8; got != boxFixed {
		t.Fatalf("object and entry take %d bytes with the allocator's header; boxFixed is %d", got, boxFixed)
	}
	prev := 0
	for _, c := range boxClasses {
		if c.room <= prev {
			t.Fatalf("box rooms not increasing: %d after %d", c.room, prev)
		}
		prev = c.room
		if total := c.room + boxFixed; !slices.Contains(goSizeClasses, total) {
			t.Errorf("box with %d bytes of room is %d bytes, not a size class", c.room, total)
		}
	}
}

// allocEntry gives room for what is asked, in one allocation up to the
// largest box, and in two beyond it.
func TestAllocEntry(t *testing.T) {
	for _, n := range []int{0, 1, 72, 73, 520, 4000, boxClasses[len(boxClasses)-1].room, 40_000} {
		e, buf := allocEntry(n)
		if len(buf) != 0 || cap(buf) < n || e.spare == nil {
			t.Fatalf("allocEntry(%d): len %d cap %d spare %p", n, len(buf), cap(buf), e.spare)
		}
		want := 1.0
		if n > boxClasses[len(boxClasses)-1].room {
			want = 2
		}
		if allocs := testing.AllocsPerRun(20, func() { allocEntry(n) }); allocs != want {
			t.Errorf("allocEntry(%d): %v allocations, want %v", n, allocs, want)
		}
	}
}

// packEntry keeps the key, lines and body in the entry's own box, in that
// order, and reads them back as stored.
func TestPackEntryInBox(t *testing.T) {
	var h fasthttp.ResponseHeader
	h.SetContentType("text/html")
	h.Set("ETag", `"v1"`)
	h.Set("Last-Modified", "Fri, 11 Dec 2026 10:00:00 GMT")
	body := []byte(strings.Repeat("<p>item</p>", 300))
	e := packEntry(&h, []byte("de\x00"), "https://shop.example/p/1", body, false)
	start := uintptr(unsafe.Pointer(e))
	end := start + unsafe.Sizeof(entryPair{}) + uintptr(e.blob)
	for name, b := range map[string][]byte{"key": unsafe.Slice(unsafe.StringData(e.key), len(e.key)), "skey": e.skey, "fields": e.fields, "body": e.body} {
		p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		if p < start || p+uintptr(len(b)) > end {
			t.Errorf("%s is outside the entry's box", name)
		}
	}
	if e.key != "https://shop.example/p/1" || string(e.skey) != "de\x00" || !bytes.Equal(e.body, body) ||
		string(e.etag) != `"v1"` || e.modTime == 0 {
		t.Fatalf("packed entry reads back wrong: key %q skey %q etag %q modTime %d", e.key, e.skey, e.etag, e.modTime)
	}
	var out fasthttp.ResponseHeader
	e.writeHeader(&out)
	if string(out.ContentType()) != "text/html" || string(out.Peek("ETag")) != `"v1"` {
		t.Fatalf("stored lines read back as %q", out.String())
	}

	// A body larger than the largest box is packed apart, and whole.
	big := bytes.Repeat([]byte("x"), 64<<10)
	e = packEntry(&h, nil, "https://shop.example/big", big, false)
	if !bytes.Equal(e.body, big) || e.key != "https://shop.example/big" {
		t.Fatal("large entry reads back wrong")
	}
}

// TestEntryHitFieldsFirst: what every fresh hit reads of an entry lies in
// its box's first two cache lines (the box starts on a line, since every
// size class of a box is a multiple of 64 bytes, and the allocator's
// 8-byte header comes first).
func TestEntryHitFieldsFirst(t *testing.T) {
	// Every field up to own (see Entry).
	et := reflect.TypeFor[Entry]()
	for i := range et.NumField() {
		f := et.Field(i)
		if end := 8 + f.Offset + f.Type.Size(); end > 128 {
			t.Errorf("Entry.%s ends at byte %d of the box, past its second line", f.Name, end)
		}
		if f.Name == "own" {
			break
		}
	}
	for _, c := range boxClasses {
		if size := c.room + boxFixed; size%64 != 0 {
			t.Errorf("a box of %d bytes does not keep its successors on a line", size)
		}
	}
}
