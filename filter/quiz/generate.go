package quiz

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"time"
)

// Generate makes a bank of n questions (1 to MaxBankSize), each drawn as a
// PNG with interference. Everything (bank id, question ids, numbers,
// fonts, colours, noise) comes from a ChaCha8 stream seeded with seed, so a
// seed always gives the same bank on one build (tests rely on it), while a
// random seed (RandomSeed) makes ids and answers unpredictable. created is
// recorded as the bank's creation time. Rendering takes about a millisecond
// per question on one core; Generate stops early with ctx's error when ctx
// ends.
//
// Kinds, about one in five to one in ten each: sums, differences, products
// of small numbers, the next number of a sequence, a sum with one number
// written in English, and five characters to type.
func Generate(ctx context.Context, n int, seed [32]byte, created time.Time) (*Bank, error) {
	if n < 1 || n > MaxBankSize {
		return nil, fmt.Errorf("quiz: generate: %d questions, want 1 to %d", n, MaxBankSize)
	}
	rng := mrand.New(mrand.NewChaCha8(seed))
	r, err := newRenderer()
	if err != nil {
		return nil, fmt.Errorf("quiz: generate: %w", err)
	}
	bankID := nonZero(rng)
	seen := make(map[uint64]struct{}, n)
	qs := make([]Question, n)
	for i := range qs {
		if i%16 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("quiz: generate: %w", err)
			}
		}
		id := nonZero(rng)
		for _, dup := seen[id]; dup; _, dup = seen[id] {
			id = nonZero(rng)
		}
		seen[id] = struct{}{}
		kind, prompt, answers := makeQuestion(rng)
		img, err := r.render(rng, prompt)
		if err != nil {
			return nil, fmt.Errorf("quiz: generate: question %d: %w", i, err)
		}
		qs[i] = Question{ID: id, Kind: kind, Prompt: prompt, Answers: answers, PNG: img}
	}
	b, err := newBank(bankID, created, qs)
	if err != nil {
		return nil, fmt.Errorf("quiz: generate: %w", err)
	}
	return b, nil
}

// RandomSeed returns a seed from the system's secure random source, for
// banks whose ids and answers nobody can predict.
func RandomSeed() [32]byte {
	var s [32]byte
	_, _ = rand.Read(s[:]) // crypto/rand.Read never fails (it panics instead)
	return s
}

func nonZero(rng *mrand.Rand) uint64 {
	for {
		if v := rng.Uint64(); v != 0 {
			return v
		}
	}
}

// textAlphabet holds the characters of KindText questions: upper-case
// letters and digits that are hard to confuse with each other once drawn
// rotated, sheared and in italic or small capitals (no 0/O/Q/D, 1/I/L,
// 2/Z, 5/S, 8/B, 6/G, 4/A, V/N/Y).
const textAlphabet = "ACEFHJKMNPRTUWX379"

var numberWords = [...]string{
	"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
	"nineteen", "twenty", "twenty-one",
}

// makeQuestion draws one question: its kind, prompt and accepted answers.
// Every kind is answered by a person in a few seconds.
func makeQuestion(rng *mrand.Rand) (kind, prompt string, answers []string) {
	itoa := strconv.Itoa
	switch p := rng.IntN(100); {
	case p < 25:
		a, b := 2+rng.IntN(48), 2+rng.IntN(48)
		return KindAdd, itoa(a) + " + " + itoa(b) + " = ?", []string{itoa(a + b)}
	case p < 45:
		a := 11 + rng.IntN(80)
		b := 2 + rng.IntN(a-2)
		return KindSub, itoa(a) + " - " + itoa(b) + " = ?", []string{itoa(a - b)}
	case p < 60:
		a, b := 2+rng.IntN(8), 2+rng.IntN(8)
		return KindMul, itoa(a) + " × " + itoa(b) + " = ?", []string{itoa(a * b)}
	case p < 75:
		start, step := 1+rng.IntN(20), 2+rng.IntN(8)
		return KindSeq, itoa(start) + ", " + itoa(start+step) + ", " + itoa(start+2*step) + ", ?",
			[]string{itoa(start + 3*step)}
	case p < 85:
		a, b := 1+rng.IntN(12), 1+rng.IntN(9)
		sum := []string{itoa(a + b), numberWords[a+b]}
		if rng.IntN(2) == 0 {
			return KindWords, numberWords[a] + " + " + itoa(b) + " = ?", sum
		}
		return KindWords, itoa(b) + " + " + numberWords[a] + " = ?", sum
	default:
		var t [5]byte
		for i := range t {
			t[i] = textAlphabet[rng.IntN(len(textAlphabet))]
		}
		return KindText, string(t[:]), []string{normalizeAnswer(string(t[:]))}
	}
}
