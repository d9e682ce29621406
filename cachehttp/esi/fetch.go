package esi

import (
	"context"
	"errors"
)

// Fetcher gets fragments for Assemble. It is called from several
// goroutines at once (up to Options.Concurrency per page) and must honour
// ctx: Assemble waits for every Fetch it started before it returns.
type Fetcher interface {
	// Fetch gets a fragment. url is an absolute path ("/frag/x?y") for the
	// page's own host or an absolute URL ("http://host/...") on an allowed
	// host, as resolved by the assembler; it is only valid during the call.
	// depth is the include level (1 for the page's own includes). A non-nil
	// error or a Status outside 2xx means failure. The fragment's Body (and
	// Template) must stay valid until Release is called.
	Fetch(ctx context.Context, url []byte, depth int) (Fragment, error)
}

// ImmediateFetcher is implemented by Fetchers that can sometimes answer
// without waiting: a fresh cache entry, an in-process handler. Assemble
// tries FetchNow on its own goroutine before it starts a fetch goroutine,
// so a page whose fragments are all at hand is assembled without any
// goroutine. FetchNow must not block; ok false means "fetch it the normal
// way" (Fetch is then called for the same URL).
type ImmediateFetcher interface {
	FetchNow(url []byte, depth int) (frag Fragment, ok bool)
}

// Fragment is what a Fetcher returns.
type Fragment struct {
	// Status is the fragment's HTTP status; only 2xx is used.
	Status int
	// Body is the fragment's content, copied into the page as it is.
	Body []byte
	// Template, when the fragment holds ESI markup, is its parsed form
	// (cached beside the fragment); it is assembled in place of Body.
	Template *Template
	// Release, when set, is called exactly once after the fragment's bytes
	// were copied out or the fragment was discarded, before Assemble
	// returns (or, for a fetch that outlived the deadline, when it ends).
	Release func()
}

func (f *Fragment) release() {
	if f.Release != nil {
		r := f.Release
		f.Release = nil
		r()
	}
	f.Body, f.Template = nil, nil
}

// Stats counts the includes of one assembly, for
// edge_esi_fragments_total{route,result}. Every include whose outcome was
// known while the page was assembled counts once in Fragments and once in
// exactly one of OK, Alt, Timeout and Errors (a fetch still running when
// the page was already written, after an OnErrorFail failure, is cancelled
// and not counted). Dropped counts failed includes whose output was left
// out (onerror="continue" or OnErrorDrop) rather than replaced by an
// esi:except.
type Stats struct {
	Fragments int // includes processed
	OK        int // served from src
	Alt       int // served from alt after src failed
	Dropped   int // failed and left out of the page
	Timeout   int // cut by the page deadline
	Errors    int // failed: fetch error, non-2xx, refused host, depth or count limit
}

// Errors wrapped by the error Assemble returns under OnErrorFail.
var (
	// ErrIncludeFailed wraps every failure Assemble returns.
	ErrIncludeFailed = errors.New("esi: include failed")
	// ErrHostNotAllowed: an absolute URL outside AllowedHosts, or a URL that
	// is not http(s) or is malformed; it was never fetched.
	ErrHostNotAllowed = errors.New("esi: include URL refused")
	// ErrDepthExceeded: the include is deeper than MaxDepth.
	ErrDepthExceeded = errors.New("esi: include depth limit reached")
	// ErrTooManyIncludes: the page already fetched MaxIncludes fragments.
	ErrTooManyIncludes = errors.New("esi: include count limit reached")
	// ErrTimeout: the page deadline passed before the fragment arrived.
	ErrTimeout = errors.New("esi: page deadline exceeded")
	// ErrFragmentStatus: the fragment answered outside 2xx.
	ErrFragmentStatus = errors.New("esi: fragment status")
	// ErrFetchPanic: the Fetcher panicked; the include failed instead.
	ErrFetchPanic = errors.New("esi: fetcher panicked")

	errNoFetcher = errors.New("esi: no fetcher")
)
