package quiz

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"strconv"
	"strings"
	"time"
)

// BankFormat is the version of the bank's export format (the "version"
// field of GET|PUT /quiz/bank). Import refuses other versions.
const BankFormat = 1

// Bank limits applied by Import (and respected by Generate).
const (
	// MaxBankSize bounds the questions of one bank.
	MaxBankSize = 100000
	// MaxAnswerLen bounds one accepted answer in bytes; longer answers from
	// shoppers are wrong without being compared.
	MaxAnswerLen = 64
	// maxPromptLen bounds the prompt text of one question.
	maxPromptLen = 128
	// maxAnswers bounds the accepted answers of one question.
	maxAnswers = 8
	// maxImageBytes bounds one question's PNG.
	maxImageBytes = 256 << 10
	// maxImageSide bounds the width and height of one question's PNG.
	maxImageSide = 2000
)

// Question kinds made by Generate. Imported banks may use other kinds: the
// kind is informative only.
const (
	KindAdd   = "add"   // "37 + 18 = ?"
	KindSub   = "sub"   // "52 - 17 = ?"
	KindMul   = "mul"   // "7 × 8 = ?"
	KindSeq   = "seq"   // "4, 9, 14, ?" (the next number)
	KindWords = "words" // "seven + 5 = ?" (digits or the English word)
	KindText  = "text"  // "K7MP2" (type the characters shown)
)

// Question is one entry of a bank: what the shopper sees (PNG) and what
// counts as a right answer. Questions belong to an immutable Bank: never
// modify one.
type Question struct {
	// ID is the question's random 64-bit id, unique in its bank and shown
	// in image URLs as 16 hex digits. It says nothing about the answer.
	ID uint64
	// Kind is the question's kind (KindAdd...), informative only.
	Kind string
	// Prompt is the text drawn on the image.
	Prompt string
	// Answers are the accepted answers, trimmed and lower-cased.
	Answers []string
	// PNG is the rendered image, served as it is.
	PNG []byte
}

// Correct reports whether answer is one of the accepted answers: surrounding
// spaces are ignored and letters compare case-insensitively (ASCII). It does
// not allocate.
func (q *Question) Correct(answer []byte) bool {
	answer = bytes.TrimSpace(answer)
	if len(answer) == 0 || len(answer) > MaxAnswerLen {
		return false
	}
	for _, a := range q.Answers {
		if foldEqual(answer, a) {
			return true
		}
	}
	return false
}

// foldEqual compares b and the lower-case ASCII string s, ignoring the case
// of ASCII letters in b.
func foldEqual(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// Bank is an immutable set of questions made before a sale, by Generate or
// Import. It is safe for concurrent use.
type Bank struct {
	id        uint64
	created   time.Time
	questions []Question
	byID      map[uint64]int32
}

// newBank indexes questions; ids must be non-zero and unique.
func newBank(id uint64, created time.Time, qs []Question) (*Bank, error) {
	if id == 0 {
		return nil, errors.New("quiz: bank id is zero")
	}
	if len(qs) == 0 || len(qs) > MaxBankSize {
		return nil, fmt.Errorf("quiz: bank has %d questions, want 1 to %d", len(qs), MaxBankSize)
	}
	b := &Bank{id: id, created: created.UTC(), questions: qs, byID: make(map[uint64]int32, len(qs))}
	for i := range qs {
		q := &qs[i]
		if q.ID == 0 {
			return nil, fmt.Errorf("quiz: question %d: id is zero", i)
		}
		if _, dup := b.byID[q.ID]; dup {
			return nil, fmt.Errorf("quiz: question %d: duplicate id %016x", i, q.ID)
		}
		b.byID[q.ID] = int32(i)
	}
	return b, nil
}

// withCreated returns a copy of b (sharing its questions) made at t.
func (b *Bank) withCreated(t time.Time) *Bank {
	c := *b
	c.created = t.UTC()
	return &c
}

// ID returns the bank's id as 16 hex digits.
func (b *Bank) ID() string { return formatID(b.id) }

// Created returns when the bank was made (UTC).
func (b *Bank) Created() time.Time { return b.created }

// Len returns the number of questions.
func (b *Bank) Len() int { return len(b.questions) }

// At returns the i-th question (0 <= i < Len).
func (b *Bank) At(i int) *Question { return &b.questions[i] }

// Lookup returns the question with id, or nil.
func (b *Bank) Lookup(id uint64) *Question {
	if b == nil {
		return nil
	}
	i, ok := b.byID[id]
	if !ok {
		return nil
	}
	return &b.questions[i]
}

// bankJSON is the export format.
type bankJSON struct {
	Version   int            `json:"version"`
	ID        string         `json:"id"`
	Created   time.Time      `json:"created"`
	Questions []questionJSON `json:"questions"`
}

type questionJSON struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	Prompt  string   `json:"prompt"`
	Answers []string `json:"answers"`
	PNG     []byte   `json:"png"` // base64 (standard) in JSON
}

// Export returns the bank as JSON, answers and images included:
//
//	{"version":1,"id":"<16 hex>","created":"<RFC 3339>","questions":[
//	  {"id":"<16 hex>","kind":"add","prompt":"37 + 18 = ?","answers":["55"],"png":"<base64>"}...]}
//
// Treat it as a secret: it is the answer key of the quiz.
func (b *Bank) Export() ([]byte, error) {
	out := bankJSON{Version: BankFormat, ID: b.ID(), Created: b.created, Questions: make([]questionJSON, len(b.questions))}
	for i := range b.questions {
		q := &b.questions[i]
		out.Questions[i] = questionJSON{ID: formatID(q.ID), Kind: q.Kind, Prompt: q.Prompt, Answers: q.Answers, PNG: q.PNG}
	}
	data, err := json.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("quiz: export bank: %w", err)
	}
	return data, nil
}

// Import parses and validates an exported bank: format version, ids (16 hex
// digits, non-zero, unique), 1 to MaxBankSize questions, each with a prompt,
// 1 to 8 non-empty answers of at most MaxAnswerLen bytes (stored trimmed
// and lower-cased) and a PNG image of sensible size. Unknown fields are
// refused.
func Import(data []byte) (*Bank, error) {
	var in bankJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("quiz: import bank: %w", err)
	}
	if dec.More() {
		return nil, errors.New("quiz: import bank: data after the JSON object")
	}
	if in.Version != BankFormat {
		return nil, fmt.Errorf("quiz: import bank: version %d, want %d", in.Version, BankFormat)
	}
	id, err := parseID(in.ID)
	if err != nil {
		return nil, fmt.Errorf("quiz: import bank: id: %w", err)
	}
	if len(in.Questions) == 0 || len(in.Questions) > MaxBankSize {
		return nil, fmt.Errorf("quiz: import bank: %d questions, want 1 to %d", len(in.Questions), MaxBankSize)
	}
	qs := make([]Question, len(in.Questions))
	for i, qj := range in.Questions {
		q, err := importQuestion(qj)
		if err != nil {
			return nil, fmt.Errorf("quiz: import bank: questions[%d]: %w", i, err)
		}
		qs[i] = q
	}
	b, err := newBank(id, in.Created, qs)
	if err != nil {
		return nil, fmt.Errorf("quiz: import bank: %w", err)
	}
	return b, nil
}

func importQuestion(qj questionJSON) (Question, error) {
	id, err := parseID(qj.ID)
	if err != nil {
		return Question{}, fmt.Errorf("id: %w", err)
	}
	if qj.Prompt == "" || len(qj.Prompt) > maxPromptLen {
		return Question{}, fmt.Errorf("prompt: want 1 to %d bytes", maxPromptLen)
	}
	if len(qj.Kind) > 32 {
		return Question{}, errors.New("kind: longer than 32 bytes")
	}
	if len(qj.Answers) == 0 || len(qj.Answers) > maxAnswers {
		return Question{}, fmt.Errorf("answers: want 1 to %d", maxAnswers)
	}
	answers := make([]string, len(qj.Answers))
	for j, a := range qj.Answers {
		a = normalizeAnswer(a)
		if a == "" || len(a) > MaxAnswerLen {
			return Question{}, fmt.Errorf("answers[%d]: want 1 to %d bytes", j, MaxAnswerLen)
		}
		answers[j] = a
	}
	if len(qj.PNG) == 0 || len(qj.PNG) > maxImageBytes {
		return Question{}, fmt.Errorf("png: want 1 to %d bytes", maxImageBytes)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(qj.PNG))
	if err != nil {
		return Question{}, fmt.Errorf("png: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxImageSide || cfg.Height > maxImageSide {
		return Question{}, fmt.Errorf("png: %dx%d pixels, want at most %d on a side", cfg.Width, cfg.Height, maxImageSide)
	}
	return Question{ID: id, Kind: qj.Kind, Prompt: qj.Prompt, Answers: answers, PNG: qj.PNG}, nil
}

// normalizeAnswer trims spaces and lower-cases ASCII letters.
func normalizeAnswer(s string) string {
	b := []byte(strings.TrimSpace(s))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// formatID writes an id as 16 lower-case hex digits.
func formatID(id uint64) string {
	var b [16]byte
	return string(appendID(b[:0], id))
}

// appendID appends id as 16 lower-case hex digits.
func appendID(dst []byte, id uint64) []byte {
	var raw [8]byte
	for i := range raw {
		raw[i] = byte(id >> (56 - 8*i))
	}
	return hex.AppendEncode(dst, raw[:])
}

// parseID reads 16 hex digits (either case) as a non-zero id.
func parseID(s string) (uint64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("want 16 hex digits, got %d characters", len(s))
	}
	id, err := strconv.ParseUint(s, 16, 64)
	if err != nil || id == 0 {
		return 0, errors.New("want 16 hex digits, not all zero")
	}
	return id, nil
}

// parseIDBytes is parseID for request bytes, without allocating.
func parseIDBytes(b []byte) (uint64, bool) {
	if len(b) != 16 {
		return 0, false
	}
	var id uint64
	for _, c := range b {
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		id = id<<4 | uint64(v)
	}
	return id, id != 0
}
