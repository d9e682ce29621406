package config

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse feeds arbitrary documents to the whole pipeline (parse, env
// expansion, strict decoding, defaults, validation). It must never panic,
// and its result must be consistent: a Config or problems, never both, every
// problem naming the file; a Config that loads can be redacted and printed.
// Seeds: testdata/fuzz/FuzzParse (the demo config among them) and the
// reference configs.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"../../configs/edge.yaml", "../../configs/demo.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	env := envOf(map[string]string{"EDGE_ADMIN_TOKEN": "t", "SHOP_JWT_SECRET": secret32, "A": "1", "EMPTY": ""})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse("f.yaml", data, env)
		if (c == nil) == (err == nil) {
			t.Fatalf("parse returned config %v and error %v", c != nil, err)
		}
		if err != nil {
			for _, p := range Problems(err) {
				if p.File != "f.yaml" || p.Line < 0 || p.Msg == "" || !strings.HasPrefix(p.Error(), "f.yaml") {
					t.Fatalf("malformed problem %#v", p)
				}
			}
			return
		}
		r := c.Redacted()
		if c.Admin.Token != "" && r.Admin.Token != RedactedValue {
			t.Fatal("token not redacted")
		}
		_, _ = yaml.Marshal(r)
	})
}

// BenchmarkParse measures loading the reference configuration (a reload).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("../../configs/edge.yaml")
	if err != nil {
		b.Fatal(err)
	}
	env := envOf(map[string]string{"EDGE_ADMIN_TOKEN": "t", "SHOP_JWT_SECRET": secret32})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse("edge.yaml", data, env); err != nil {
			b.Fatal(err)
		}
	}
}
