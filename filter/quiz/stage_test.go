package quiz

import (
	"strings"
	"testing"
	"time"

	"edge/filter"
	"edge/internal/config"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStage(t *testing.T) {
	t.Parallel()
	type step struct {
		after  time.Duration // clock advance before this step
		o      func(tok, right, wrong string) order
		status int
		reason string // "" for a pass
		retry  string
	}
	std := func(tok, answer string) order { return order{user: "u1", item: "42", token: tok, answer: answer} }
	cases := []struct {
		name  string
		steps []step
	}{
		{"right answer passes", []step{
			{after: 2 * time.Second, o: func(tok, right, _ string) order { return std(tok, right) }},
		}},
		{"lenient answer: spaces and case", []step{
			{after: 2 * time.Second, o: func(tok, right, _ string) order { return std(tok, "  "+strings.ToUpper(right)+"\t") }},
		}},
		{"form fields", []step{
			{after: 2 * time.Second, o: func(tok, right, _ string) order {
				o := std(tok, right)
				o.form = "urlencoded"
				return o
			}},
		}},
		{"multipart form fields", []step{
			{after: 2 * time.Second, o: func(tok, right, _ string) order {
				o := std(tok, right)
				o.form = "multipart"
				return o
			}},
		}},
		{"no token", []step{
			{after: 2 * time.Second, o: func(_, right, _ string) order { return std("", right) }, status: 403, reason: "quiz_required"},
		}},
		{"no answer", []step{
			{after: 2 * time.Second, o: func(tok, _, _ string) order { return std(tok, "") }, status: 403, reason: "quiz_required"},
		}},
		{"garbage token", []step{
			{after: 2 * time.Second, o: func(_, right, _ string) order { return std("not-a-token", right) }, status: 403, reason: "quiz_invalid"},
		}},
		{"tampered token", []step{
			{after: 2 * time.Second, o: func(tok, right, _ string) order { return std(tamper(tok), right) }, status: 403, reason: "quiz_invalid"},
		}},
		{"other shopper", []step{
			{after: 2 * time.Second, o: func(tok, right, _ string) order {
				o := std(tok, right)
				o.user = "u2"
				return o
			}, status: 403, reason: "quiz_invalid"},
		}},
		{"other item", []step{
			{after: 2 * time.Second, o: func(tok, right, _ string) order {
				o := std(tok, right)
				o.item = "43"
				return o
			}, status: 403, reason: "quiz_invalid"},
		}},
		{"wrong answer", []step{
			{after: 2 * time.Second, o: func(tok, _, wrong string) order { return std(tok, wrong) }, status: 403, reason: "quiz_invalid"},
		}},
		{"too fast, then good after waiting", []step{
			{after: 300 * time.Millisecond, o: func(tok, right, _ string) order { return std(tok, right) }, status: 403, reason: "quiz_too_fast", retry: "1"},
			{after: 700 * time.Millisecond, o: func(tok, right, _ string) order { return std(tok, right) }},
		}},
		{"expired", []step{
			{after: 2*time.Minute + time.Millisecond, o: func(tok, right, _ string) order { return std(tok, right) }, status: 403, reason: "quiz_expired"},
		}},
		{"at max_age still good", []step{
			{after: 2 * time.Minute, o: func(tok, right, _ string) order { return std(tok, right) }},
		}},
		{"replayed", []step{
			{after: 2 * time.Second, o: func(tok, right, _ string) order { return std(tok, right) }},
			{o: func(tok, right, _ string) order { return std(tok, right) }, status: 403, reason: "quiz_replayed"},
		}},
		{"wrong answers do not use the token", []step{
			{after: 2 * time.Second, o: func(tok, _, wrong string) order { return std(tok, wrong) }, status: 403, reason: "quiz_invalid"},
			{o: func(tok, right, _ string) order { return std(tok, right) }},
		}},
		{"attempts exhausted", []step{
			{after: 2 * time.Second, o: func(tok, _, wrong string) order { return std(tok, wrong) }, status: 403, reason: "quiz_invalid"},
			{o: func(tok, _, wrong string) order { return std(tok, wrong) }, status: 403, reason: "quiz_invalid"},
			{o: func(tok, _, wrong string) order { return std(tok, wrong) }, status: 403, reason: "quiz_invalid"},
			{o: func(tok, right, _ string) order { return std(tok, right) }, status: 403, reason: "quiz_attempts"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			s := newService(t, clk, nil, true)
			st := NewStage("order", quizCfg, s)
			is := issueFor(t, s, "u1", "42")
			right, wrong := answerOf(t, s, is.Token), wrongAnswer(t, s, is.Token)
			for i, sp := range tc.steps {
				clk.Add(sp.after)
				got := run(t, st, sp.o(is.Token, right, wrong))
				if sp.reason == "" {
					if got.verdict != filter.Continue || got.reason != "" {
						t.Fatalf("step %d: want a pass, got %d %s", i, got.status, got.body)
					}
					if got.tokenHdr != "" {
						t.Fatalf("step %d: X-Quiz-Token left on the forwarded request", i)
					}
					continue
				}
				want := `{"error":"` + sp.reason + `"}`
				if got.verdict != filter.Rejected || got.status != sp.status || got.body != want || got.reason != sp.reason {
					t.Fatalf("step %d: got %v %d %s, want %d %s", i, got.verdict, got.status, got.body, sp.status, want)
				}
				if got.retryAfter != sp.retry {
					t.Fatalf("step %d: Retry-After %q, want %q", i, got.retryAfter, sp.retry)
				}
			}
		})
	}
}

// tamper changes one character of a token, keeping it well-formed.
func tamper(tok string) string {
	b := []byte(tok)
	i := 20 // inside the question id
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestStageUnknownQuestionAndForeignSecret(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newService(t, clk, nil, true)
	st := NewStage("order", quizCfg, s)
	is := issueFor(t, s, "u1", "42")
	right := answerOf(t, s, is.Token)

	// A token from a node with another secret.
	other := newService(t, clk, nil, true)
	if err := other.Reconfigure(bankCfg(secretB, "")); err != nil {
		t.Fatal(err)
	}
	foreign := issueFor(t, other, "u1", "42")
	clk.Add(2 * time.Second)
	if got := run(t, st, order{user: "u1", item: "42", token: foreign.Token, answer: answerOf(t, other, foreign.Token)}); got.reason != "quiz_invalid" {
		t.Fatalf("foreign secret: %s", got.body)
	}

	// Two bank changes later the question is gone.
	for i := range 2 {
		b, err := Generate(t.Context(), 2, [32]byte{byte(100 + i)}, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		s.install(b, nil, true, sourceImported)
	}
	if got := run(t, st, order{user: "u1", item: "42", token: is.Token, answer: right}); got.reason != "quiz_invalid" {
		t.Fatalf("question no longer in the banks: %s", got.body)
	}
}

func TestStageKeepsPreviousBank(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newService(t, clk, nil, true)
	st := NewStage("order", quizCfg, s)
	is := issueFor(t, s, "u1", "42")
	right := answerOf(t, s, is.Token)
	b, err := Generate(t.Context(), 2, [32]byte{99}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.install(b, nil, true, sourceImported)
	clk.Add(2 * time.Second)
	if got := run(t, st, order{user: "u1", item: "42", token: is.Token, answer: right}); got.verdict != filter.Continue {
		t.Fatalf("token of the previous bank refused: %s", got.body)
	}
}

func TestSecretRotation(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newService(t, clk, nil, true)
	st := NewStage("order", quizCfg, s)
	before := issueFor(t, s, "u1", "42")

	// Rotate: B signs, A is still accepted.
	if err := s.Reconfigure(bankCfg(secretB, secretA)); err != nil {
		t.Fatal(err)
	}
	after := issueFor(t, s, "u2", "42")
	clk.Add(2 * time.Second)
	if got := run(t, st, order{user: "u1", item: "42", token: before.Token, answer: answerOf(t, s, before.Token)}); got.verdict != filter.Continue {
		t.Fatalf("token signed just before the rotation refused: %s", got.body)
	}
	pb, _ := parseToken([]byte(before.Token))
	pa, _ := parseToken([]byte(after.Token))
	if pa.kid == pb.kid {
		t.Fatal("tokens after the rotation should be signed with the new secret")
	}

	// Rotation finished: A is no longer accepted, B still is.
	old := issueFor(t, s, "u3", "42") // signed with B
	if err := s.Reconfigure(bankCfg(secretB, "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Reconfigure(bankCfg(secretA, secretB)); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Second)
	if got := run(t, st, order{user: "u3", item: "42", token: old.Token, answer: answerOf(t, s, old.Token)}); got.verdict != filter.Continue {
		t.Fatalf("previous secret refused: %s", got.body)
	}
	if err := s.Reconfigure(bankCfg(secretA, "")); err != nil {
		t.Fatal(err)
	}
	if got := run(t, st, order{user: "u2", item: "42", token: after.Token, answer: answerOf(t, s, after.Token)}); got.reason != "quiz_invalid" {
		t.Fatalf("token of a retired secret: %s", got.body)
	}
}

func TestStageMetrics(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newService(t, clk, nil, true)
	st := NewStage("order", quizCfg, s)
	is := issueFor(t, s, "u1", "42")
	clk.Add(2 * time.Second)
	run(t, st, order{user: "u1", item: "42"})
	run(t, st, order{user: "u1", item: "42", token: is.Token, answer: wrongAnswer(t, s, is.Token)})
	run(t, st, order{user: "u1", item: "42", token: is.Token, answer: answerOf(t, s, is.Token)})
	run(t, st, order{user: "u1", item: "42", token: is.Token, answer: answerOf(t, s, is.Token)})
	for res, want := range map[string]float64{ResultOK: 1, ResultRequired: 1, ResultInvalid: 1, ResultReplayed: 1, ResultTooFast: 0} {
		if got := testutil.ToFloat64(s.m.checks.WithLabelValues("order", res)); got != want {
			t.Errorf("checks{result=%s} = %v, want %v", res, got, want)
		}
	}
	if got := testutil.ToFloat64(s.m.issued); got != 1 {
		t.Errorf("issued = %v, want 1", got)
	}
}

func TestNewStageDefaultsAndExpiry(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newService(t, clk, nil, true)
	st := NewStage("a", nil, s)
	if st.p != (policy{minThink: config.DefaultQuizMinThink, maxAge: config.DefaultQuizMaxAge, attempts: config.DefaultQuizAttempts}) {
		t.Fatalf("defaults: %+v", st.p)
	}
	short := NewStage("b", &config.Quiz{MaxAge: config.Duration(30 * time.Second)}, s)
	if got := issueFor(t, s, "u", "1"); got.ExpiresIn != 30 || !got.ExpiresAt.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("expiry with a 30s route: %+v", got)
	}
	// A reload builds the new stage before closing the old one.
	replaced := NewStage("b", &config.Quiz{MaxAge: config.Duration(time.Minute)}, s)
	_ = short.Close()
	if got := issueFor(t, s, "u", "1"); got.ExpiresIn != 60 {
		t.Fatalf("expiry after reload: %d", got.ExpiresIn)
	}
	_ = replaced.Close()
	_ = st.Close()
	if got := issueFor(t, s, "u", "1"); got.ExpiresIn != 120 {
		t.Fatalf("expiry without routes: %d", got.ExpiresIn)
	}
}
