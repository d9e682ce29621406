package stock

import (
	"time"
	"unicode/utf8"

	"edge/internal/config"
)

// Sale states as the edge endpoint and the admin API report them.
const (
	// StateNotStarted: the sale window has not opened yet.
	StateNotStarted = "not_started"
	// StateOnSale: inside the window with units left.
	StateOnSale = "on_sale"
	// StateSoldOut: inside the window, no unit left.
	StateSoldOut = "sold_out"
	// StateEnded: the sale window has closed.
	StateEnded = "ended"
)

// Sale is one item on sale. It is immutable once built.
type Sale struct {
	// Name labels the sale in metrics and the admin API.
	Name string
	// Item is the item id as requests carry it.
	Item string
	// Stock is the configured number of units, used to seed the sale.
	Stock int64
	// Starts and Ends bound the sale window; zero means unbounded.
	Starts, Ends time.Time

	itemJSON []byte // Item as a JSON string, quotes included
}

// State returns the sale's state at now given the sold-out flag.
func (s *Sale) State(now time.Time, soldOut bool) string {
	switch {
	case !s.Ends.IsZero() && !now.Before(s.Ends):
		return StateEnded
	case !s.Starts.IsZero() && now.Before(s.Starts):
		return StateNotStarted
	case soldOut:
		return StateSoldOut
	}
	return StateOnSale
}

// Sales is the sale table of one configuration: looked up by item id on
// every order, so the lookup does not allocate. A nil *Sales is an empty
// table.
type Sales struct {
	byItem map[string]*Sale
	list   []*Sale
}

// NewSales builds the table from the configured sales. Nil entries and
// entries without an item are skipped; for an item listed twice the first
// entry counts (validation refuses both). A sale without a name is named
// "item-<item>", the config default.
func NewSales(cfg []*config.Sale) *Sales {
	s := &Sales{byItem: make(map[string]*Sale, len(cfg))}
	for _, c := range cfg {
		if c == nil || c.Item == "" {
			continue
		}
		if _, dup := s.byItem[c.Item]; dup {
			continue
		}
		name := c.Name
		if name == "" {
			name = "item-" + c.Item
		}
		sale := &Sale{
			Name:     name,
			Item:     c.Item,
			Stock:    max(c.Stock, 0),
			Starts:   c.Starts,
			Ends:     c.Ends,
			itemJSON: appendJSONString(nil, c.Item),
		}
		s.byItem[c.Item] = sale
		s.list = append(s.list, sale)
	}
	return s
}

// Lookup returns the sale of item, or nil. It does not allocate.
func (s *Sales) Lookup(item []byte) *Sale {
	if s == nil {
		return nil
	}
	return s.byItem[string(item)]
}

// Get returns the sale of item, or nil.
func (s *Sales) Get(item string) *Sale {
	if s == nil {
		return nil
	}
	return s.byItem[item]
}

// All returns the sales in config order. The slice must not be modified.
func (s *Sales) All() []*Sale {
	if s == nil {
		return nil
	}
	return s.list
}

// Len returns the number of sales.
func (s *Sales) Len() int { return len(s.All()) }

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
