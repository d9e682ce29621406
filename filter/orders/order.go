package orders

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"edge/filter/stock"
)

// Result states.
const (
	// StatusPending: queued or being sent; the shop has not answered for
	// good yet.
	StatusPending = "pending"
	// StatusAccepted: the shop accepted the order (2xx); its unit is sold.
	StatusAccepted = "accepted"
	// StatusRejected: the order will not be sold; Result.Reason says why and
	// its unit went back to the stock.
	StatusRejected = "rejected"
)

// Rejection reasons of a final result.
const (
	// ReasonSoldOut: the shop said the item is sold out (410, or 409 whose
	// body names sold_out).
	ReasonSoldOut = "sold_out"
	// ReasonRefused: the shop refused the order (another 4xx); its status
	// and body are in the result.
	ReasonRefused = "shop_refused"
	// ReasonUnavailable: the shop failed (5xx, 429, no answer) on every
	// attempt, retries included.
	ReasonUnavailable = "shop_unavailable"
	// ReasonInvalid: the queued order could not be read back (never sent).
	ReasonInvalid = "invalid_order"
)

// HeaderIdempotencyKey carries the ticket to the shop, so that an order
// sent twice (a retry, a takeover after a node died) is sold once.
const HeaderIdempotencyKey = "Idempotency-Key"

// MaxResultBody bounds the copy of the shop's answer body kept with a
// result, in bytes; longer bodies are cut.
const MaxResultBody = 4 << 10

// ticketLen is the length of a ticket: 16 random bytes in unpadded
// URL-safe base64.
const ticketLen = 22

// NewTicket returns a fresh ticket: 128 random bits, URL-safe.
func NewTicket() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidTicket reports whether t has the form of a ticket.
func ValidTicket(t []byte) bool {
	if len(t) != ticketLen {
		return false
	}
	for _, c := range t {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Order is one queued order. It owns all its bytes.
type Order struct {
	// Ticket names the order; it is also the Idempotency-Key sent to the
	// shop.
	Ticket string
	// Route is the name of the route the order came in on.
	Route string
	// User is the shopper the ticket is bound to; empty when the route
	// knows none (anyone holding the ticket may then read the result).
	User string
	// Item is the order's item id.
	Item string
	// Unit is the stock unit the gate took for the order (zero: none).
	Unit stock.Unit
	// Request is the request for the shop in HTTP/1.1 wire format, as the
	// route would forward it.
	Request []byte
	// Enqueued is when the order was queued.
	Enqueued time.Time
}

// Delivery is an order handed to a dispatcher; ID names it in the queue
// (acknowledged with it).
type Delivery struct {
	// ID names the delivery in its route's queue (a stream entry id).
	ID string
	// Order is the queued order.
	Order *Order
}

// Result is what GET /_edge/orders/{ticket} reports.
type Result struct {
	// Ticket names the order.
	Ticket string
	// Route is the route the order came in on.
	Route string
	// User is the shopper the ticket is bound to.
	User string
	// Status is StatusPending, StatusAccepted or StatusRejected.
	Status string
	// Reason says why a rejected order was rejected (Reason* constants).
	Reason string
	// Code is the shop's last status code, 0 when it never answered.
	Code int
	// ContentType and Body are the shop's answer (Body cut at
	// MaxResultBody bytes).
	ContentType string
	Body        []byte
	// Attempts counts the sends to the shop so far.
	Attempts int
	// Enqueued is when the order was queued; Done when it was decided
	// (zero while pending).
	Enqueued, Done time.Time
}

// final reports whether r is decided.
func (r *Result) final() bool { return r.Status == StatusAccepted || r.Status == StatusRejected }

// encodeRequest writes req in HTTP/1.1 wire format.
func encodeRequest(req *fasthttp.Request) ([]byte, error) {
	var buf bytes.Buffer
	w := bufio.NewWriterSize(&buf, 4096)
	if err := req.Write(w); err != nil {
		return nil, fmt.Errorf("orders: encode request: %w", err)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("orders: encode request: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeRequest reads a request written by encodeRequest into req.
func decodeRequest(wire []byte, req *fasthttp.Request) error {
	req.Reset()
	br := bufio.NewReaderSize(bytes.NewReader(wire), 4096)
	if err := req.ReadLimitBody(br, len(wire)); err != nil {
		return fmt.Errorf("orders: decode request: %w", err)
	}
	return nil
}
