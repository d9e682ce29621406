package quiz

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteExampleImage writes docs/quiz-example.png, the question image
// shown in the README, when EDGE_WRITE_DOCS=1:
//
//	EDGE_WRITE_DOCS=1 go test ./filter/quiz -run TestWriteExampleImage
func TestWriteExampleImage(t *testing.T) {
	if os.Getenv("EDGE_WRITE_DOCS") != "1" {
		t.Skip("set EDGE_WRITE_DOCS=1 to write docs/quiz-example.png")
	}
	b, err := Generate(context.Background(), 20, [32]byte{'e', 'd', 'g', 'e'}, t0)
	if err != nil {
		t.Fatal(err)
	}
	var q *Question
	for i := range b.Len() {
		if b.At(i).Kind == KindAdd {
			q = b.At(i)
			break
		}
	}
	if q == nil {
		t.Fatal("no sum in the example bank")
	}
	path := filepath.Join("..", "..", "docs", "quiz-example.png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, q.PNG, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %q (answer %s, %d bytes)", path, q.Prompt, q.Answers[0], len(q.PNG))
}
