package quiz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"strings"
	"testing"
)

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	a := mustBank(t)
	b, err := Generate(context.Background(), 12, [32]byte{7}, t0)
	if err != nil {
		t.Fatal(err)
	}
	ea, _ := a.Export()
	eb, _ := b.Export()
	if !bytes.Equal(ea, eb) {
		t.Fatal("one seed gave two banks")
	}
	c, err := Generate(context.Background(), 12, [32]byte{8}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() == a.ID() || c.At(0).ID == a.At(0).ID {
		t.Fatal("two seeds gave the same ids")
	}
}

func TestGeneratedQuestions(t *testing.T) {
	t.Parallel()
	b, err := Generate(context.Background(), 120, [32]byte{3}, t0)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for i := range b.Len() {
		q := b.At(i)
		kinds[q.Kind]++
		if len(q.Answers) == 0 || q.Prompt == "" || q.ID == 0 || b.Lookup(q.ID) != q {
			t.Fatalf("question %d: %+v", i, q)
		}
		if !q.Correct([]byte(q.Answers[0])) || q.Correct([]byte(q.Answers[0]+"1")) {
			t.Fatalf("question %d (%q): answer check broken", i, q.Prompt)
		}
		if !strings.Contains(q.Prompt, "?") && q.Kind != KindText {
			t.Fatalf("question %d: prompt %q asks nothing", i, q.Prompt)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(q.PNG))
		if err != nil || cfg.Width != ImageWidth || cfg.Height != ImageHeight {
			t.Fatalf("question %d: png %v %+v", i, err, cfg)
		}
		if len(q.PNG) > 16<<10 {
			t.Fatalf("question %d: png of %d bytes", i, len(q.PNG))
		}
	}
	for _, k := range []string{KindAdd, KindSub, KindMul, KindSeq, KindWords, KindText} {
		if kinds[k] == 0 {
			t.Errorf("no %s question in 120", k)
		}
	}
}

func TestGenerateLimitsAndCancel(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, -1, MaxBankSize + 1} {
		if _, err := Generate(context.Background(), n, [32]byte{}, t0); err == nil {
			t.Errorf("Generate(%d) should fail", n)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, 100, [32]byte{}, t0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled generate: %v", err)
	}
}

func TestCorrect(t *testing.T) {
	t.Parallel()
	q := &Question{Answers: []string{"12", "twelve"}}
	cases := map[string]bool{
		"12": true, " 12 ": true, "\t12\n": true, "twelve": true, "TWELVE": true, "Twelve ": true,
		"": false, " ": false, "1 2": false, "13": false, "twelv": false, "012": false,
		strings.Repeat("1", MaxAnswerLen+1): false,
	}
	for in, want := range cases {
		if got := q.Correct([]byte(in)); got != want {
			t.Errorf("Correct(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestExportImport(t *testing.T) {
	t.Parallel()
	b := mustBank(t)
	data, err := b.Export()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Import(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != b.ID() || got.Len() != b.Len() || !got.Created().Equal(b.Created()) {
		t.Fatalf("round trip: %s/%d vs %s/%d", got.ID(), got.Len(), b.ID(), b.Len())
	}
	for i := range b.Len() {
		x, y := b.At(i), got.At(i)
		if x.ID != y.ID || x.Kind != y.Kind || x.Prompt != y.Prompt || !bytes.Equal(x.PNG, y.PNG) || strings.Join(x.Answers, ",") != strings.Join(y.Answers, ",") {
			t.Fatalf("question %d differs", i)
		}
	}
}

func TestImportRefuses(t *testing.T) {
	t.Parallel()
	data, _ := mustBank(t).Export()
	var base map[string]any
	if err := json.Unmarshal(data, &base); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any, q0 map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		f(m, m["questions"].([]any)[0].(map[string]any))
		out, _ := json.Marshal(m)
		return out
	}
	cases := map[string][]byte{
		"not json":        []byte("{"),
		"trailing data":   append(append([]byte{}, data...), []byte(" {}")...),
		"version":         edit(func(m, _ map[string]any) { m["version"] = 2 }),
		"bank id":         edit(func(m, _ map[string]any) { m["id"] = "xyz" }),
		"zero bank id":    edit(func(m, _ map[string]any) { m["id"] = "0000000000000000" }),
		"unknown field":   edit(func(m, _ map[string]any) { m["extra"] = 1 }),
		"no questions":    edit(func(m, _ map[string]any) { m["questions"] = []any{} }),
		"question id":     edit(func(_, q map[string]any) { q["id"] = "12" }),
		"duplicate id":    edit(func(m, q map[string]any) { q["id"] = m["questions"].([]any)[1].(map[string]any)["id"] }),
		"no answers":      edit(func(_, q map[string]any) { q["answers"] = []any{} }),
		"blank answer":    edit(func(_, q map[string]any) { q["answers"] = []any{"  "} }),
		"long answer":     edit(func(_, q map[string]any) { q["answers"] = []any{strings.Repeat("x", MaxAnswerLen+1)} }),
		"no prompt":       edit(func(_, q map[string]any) { q["prompt"] = "" }),
		"not a png":       edit(func(_, q map[string]any) { q["png"] = []byte("GIF89a....") }),
		"missing png":     edit(func(_, q map[string]any) { delete(q, "png") }),
		"unknown q field": edit(func(_, q map[string]any) { q["hint"] = "x" }),
	}
	for name, in := range cases {
		if _, err := Import(in); err == nil {
			t.Errorf("%s: imported", name)
		}
	}
	// Answers are normalised on import.
	b, err := Import(edit(func(_, q map[string]any) { q["answers"] = []any{" ABC "} }))
	if err != nil {
		t.Fatal(err)
	}
	if a := b.At(0).Answers[0]; a != "abc" {
		t.Fatalf("answer stored as %q", a)
	}
}

func TestIDs(t *testing.T) {
	t.Parallel()
	for _, id := range []uint64{1, 0xdeadbeef, 1<<64 - 1} {
		s := formatID(id)
		if len(s) != 16 {
			t.Fatalf("formatID(%x) = %q", id, s)
		}
		if got, err := parseID(s); err != nil || got != id {
			t.Fatalf("parseID(%q) = %x, %v", s, got, err)
		}
		if got, ok := parseIDBytes([]byte(strings.ToUpper(s))); !ok || got != id {
			t.Fatalf("parseIDBytes(%q) = %x, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "0000000000000000", "123", "0123456789abcdefa", "g123456789abcdef", "+123456789abcdef"} {
		if _, ok := parseIDBytes([]byte(s)); ok {
			t.Errorf("parseIDBytes(%q) accepted", s)
		}
		if _, err := parseID(s); err == nil {
			t.Errorf("parseID(%q) accepted", s)
		}
	}
}
