package shop_test

import (
	"maps"
	"testing"

	"edge/examples/shop/shop"
)

func TestParseStock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    map[string]int
		wantErr bool
	}{
		{in: "42=200,43=50", want: map[string]int{"42": 200, "43": 50}},
		{in: " 42 = 1 , sku-a_b=0 ,", want: map[string]int{"42": 1, "sku-a_b": 0}},
		{in: "", want: map[string]int{}},
		{in: "42", wantErr: true},
		{in: "42=-1", wantErr: true},
		{in: "42=x", wantErr: true},
		{in: "a/b=1", wantErr: true},
		{in: "42=1,42=2", wantErr: true},
	} {
		got, err := shop.ParseStock(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && !maps.Equal(got, tc.want)) {
			t.Errorf("ParseStock(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil {
			again, err := shop.ParseStock(shop.FormatStock(got))
			if err != nil || !maps.Equal(again, got) {
				t.Errorf("FormatStock(%v) does not parse back: %v, %v", got, again, err)
			}
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]shop.Options{
		"fail rate above 1":  {FailRate: 1.5},
		"negative fail rate": {FailRate: -0.1},
		"negative latency":   {Latency: -1},
		"negative stock":     {Stock: map[string]int{"42": -1}},
		"bad item id":        {Stock: map[string]int{"4 2": 1}},
		"schema without DSN": {Schema: "s"},
		"reset without DSN":  {Reset: true},
		"bad schema":         {DSN: "postgres://x/y", Schema: "Drop;"},
		"unparseable DSN":    {DSN: "postgres://%zz"},
	} {
		o.Logger = quiet
		if s, err := shop.New(o); err == nil {
			_ = s.Close()
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}

func TestDefaultStock(t *testing.T) {
	t.Parallel()
	s := newShop(t, shop.Options{})
	if got := stats(t, s).Stock; !maps.Equal(got, shop.DefaultStock()) {
		t.Errorf("stock = %v, want %v", got, shop.DefaultStock())
	}
}
