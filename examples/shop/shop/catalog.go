package shop

import (
	"hash/fnv"
	"strconv"
)

// product is what a page shows about an item. Which items exist, and their
// stock, is the store's business; the catalogue only dresses them up.
type product struct {
	Name  string
	Blurb string
	// ListPrice and Price are in cents; Price is the flash-sale price.
	ListPrice, Price int
}

// catalog names the demo items; other ids get a generated product.
var catalog = map[string]product{
	"42": {
		Name:      "Aurora Desk Lamp",
		Blurb:     "Warm-to-daylight LED, brushed aluminium arm, USB-C charging port in the base.",
		ListPrice: 8900, Price: 4200,
	},
	"43": {
		Name:      "Trailhead 30L Backpack",
		Blurb:     "Water-resistant ripstop, ventilated back panel and a laptop sleeve that fits 16 inches.",
		ListPrice: 12900, Price: 6900,
	},
	"44": {
		Name:      "Pocket Espresso Maker",
		Blurb:     "Hand-pumped, 18 bar, no capsules and no cable: real espresso anywhere.",
		ListPrice: 7900, Price: 3900,
	},
}

// productOf returns the catalogue entry of id, or a stable generated one.
func productOf(id string) product {
	if p, ok := catalog[id]; ok {
		return p
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	list := 1900 + int(h.Sum32()%180)*100 // $19.00 .. $198.00
	return product{
		Name:      "Item " + id,
		Blurb:     "A limited flash-sale item. Once the stock is gone, it is gone.",
		ListPrice: list,
		Price:     list / 2,
	}
}

// formatPrice renders cents as "$12.34".
func formatPrice(cents int) string {
	frac := strconv.Itoa(cents % 100)
	if len(frac) == 1 {
		frac = "0" + frac
	}
	return "$" + strconv.Itoa(cents/100) + "." + frac
}
