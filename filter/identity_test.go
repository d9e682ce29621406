package filter

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"edge/internal/config"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// identityKeys is one RSA key pair for the identity tests.
type identityKeys struct {
	priv   *rsa.PrivateKey
	pubPEM string
}

func newIdentityKeys(t *testing.T) identityKeys {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return identityKeys{priv: priv, pubPEM: string(pub)}
}

func signToken(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func identityRequest(headers ...string) *fasthttp.RequestCtx {
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.SetRequestURI("/order")
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	return ctx
}

func TestIdentity(t *testing.T) {
	t.Parallel()
	keys := newIdentityKeys(t)
	keyFile := filepath.Join(t.TempDir(), "pub.pem")
	if err := os.WriteFile(keyFile, []byte(keys.pubPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	valid := jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix()}
	hs := signToken(t, jwt.SigningMethodHS256, []byte(testSecret), valid)
	rs := signToken(t, jwt.SigningMethodRS256, keys.priv, valid)
	none := signToken(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid)

	plainHeader := &config.Identity{Header: "X-User-Id"}
	plainCookie := &config.Identity{Cookie: "uid"}
	both := &config.Identity{Header: "X-User-Id", Cookie: "uid"}
	hsHeader := &config.Identity{Header: "Authorization", JWT: &config.JWT{HS256Secret: testSecret}}
	hsCookie := &config.Identity{Cookie: "session", JWT: &config.JWT{HS256Secret: testSecret}}
	hsUID := &config.Identity{Cookie: "session", JWT: &config.JWT{HS256Secret: testSecret, Claim: "uid"}}
	rsInline := &config.Identity{Header: "Authorization", JWT: &config.JWT{RS256PublicKey: keys.pubPEM}}
	rsFile := &config.Identity{Header: "Authorization", JWT: &config.JWT{RS256PublicKey: keyFile}}

	tests := []struct {
		name    string
		cfg     *config.Identity
		headers []string
		want    string // "" = no identity
		invalid bool   // expect error="invalid_token" in the challenge
	}{
		{"header", plainHeader, []string{"X-User-Id", "u-1"}, "u-1", false},
		{"header missing", plainHeader, nil, "", false},
		{"header with space", plainHeader, []string{"X-User-Id", "a b"}, "", false},
		{"header with brace", plainHeader, []string{"X-User-Id", "a}b"}, "", false},
		{"header too long", plainHeader, []string{"X-User-Id", strings.Repeat("x", MaxUserIDLen+1)}, "", false},
		{"header at max length", plainHeader, []string{"X-User-Id", strings.Repeat("x", MaxUserIDLen)}, strings.Repeat("x", MaxUserIDLen), false},
		{"cookie", plainCookie, []string{"Cookie", "a=1; uid=bob"}, "bob", false},
		{"header before cookie", both, []string{"X-User-Id", "h", "Cookie", "uid=c"}, "h", false},
		{"cookie when no header", both, []string{"Cookie", "uid=c"}, "c", false},
		{"hs256 bearer", hsHeader, []string{"Authorization", "Bearer " + hs}, "alice", false},
		{"hs256 bearer lower case", hsHeader, []string{"Authorization", "bearer " + hs}, "alice", false},
		{"hs256 cookie", hsCookie, []string{"Cookie", "session=" + hs}, "alice", false},
		{"hs256 numeric claim", hsUID, []string{"Cookie", "session=" + signToken(t, jwt.SigningMethodHS256, []byte(testSecret),
			jwt.MapClaims{"uid": 9007199254740993})}, "9007199254740993", false},
		{"hs256 claim missing", hsUID, []string{"Cookie", "session=" + hs}, "", true},
		{"hs256 claim wrong type", hsCookie, []string{"Cookie", "session=" + signToken(t, jwt.SigningMethodHS256, []byte(testSecret),
			jwt.MapClaims{"sub": []string{"a"}})}, "", true},
		{"hs256 wrong secret", hsHeader, []string{"Authorization", "Bearer " + signToken(t, jwt.SigningMethodHS256,
			[]byte(strings.Repeat("z", 32)), valid)}, "", true},
		{"hs256 tampered", hsHeader, []string{"Authorization", "Bearer " + hs[:len(hs)-2] + "xx"}, "", true},
		{"hs256 garbage", hsHeader, []string{"Authorization", "Bearer not.a.token"}, "", true},
		{"expired", hsHeader, []string{"Authorization", "Bearer " + signToken(t, jwt.SigningMethodHS256, []byte(testSecret),
			jwt.MapClaims{"sub": "alice", "exp": now.Add(-time.Hour).Unix()})}, "", true},
		{"expired within leeway", hsHeader, []string{"Authorization", "Bearer " + signToken(t, jwt.SigningMethodHS256, []byte(testSecret),
			jwt.MapClaims{"sub": "alice", "exp": now.Add(-10 * time.Second).Unix()})}, "alice", false},
		{"not yet valid", hsHeader, []string{"Authorization", "Bearer " + signToken(t, jwt.SigningMethodHS256, []byte(testSecret),
			jwt.MapClaims{"sub": "alice", "nbf": now.Add(time.Hour).Unix()})}, "", true},
		{"wrong alg HS384", hsHeader, []string{"Authorization", "Bearer " + signToken(t, jwt.SigningMethodHS384, []byte(testSecret), valid)}, "", true},
		{"wrong alg RS256 on HS256", hsHeader, []string{"Authorization", "Bearer " + rs}, "", true},
		{"alg none", hsHeader, []string{"Authorization", "Bearer " + none}, "", true},
		{"rs256 inline", rsInline, []string{"Authorization", "Bearer " + rs}, "alice", false},
		{"rs256 file", rsFile, []string{"Authorization", "Bearer " + rs}, "alice", false},
		{"rs256 alg none", rsInline, []string{"Authorization", "Bearer " + none}, "", true},
		{"rs256 wrong alg HS256", rsInline, []string{"Authorization", "Bearer " + hs}, "", true},
		// Algorithm confusion: an HS256 token keyed with the public key.
		{"rs256 confusion", rsInline, []string{"Authorization", "Bearer " + signToken(t, jwt.SigningMethodHS256, []byte(keys.pubPEM), valid)}, "", true},
		{"rs256 missing", rsInline, nil, "", false},
	}
	for _, tc := range tests {
		for _, mode := range []string{IdentityOptional, IdentityRequired} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				id, err := NewIdentity(tc.cfg, mode)
				if err != nil {
					t.Fatal(err)
				}
				var logs bytes.Buffer
				id.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				ctx := identityRequest(tc.headers...)
				st := &State{User: []byte("stale")}
				v := id.Handle(ctx, st)
				for _, h := range tc.headers {
					if strings.Count(h, ".") == 2 && len(h) > 20 && strings.Contains(logs.String(), h[len(h)-20:]) {
						t.Fatalf("token logged: %s", logs.String())
					}
				}
				switch {
				case tc.want != "":
					if v != Continue || string(st.User) != tc.want {
						t.Fatalf("verdict %v user %q, want %q", v, st.User, tc.want)
					}
				case mode == IdentityOptional:
					if v != Continue || len(st.User) != 0 {
						t.Fatalf("optional: verdict %v user %q, want Continue and no user", v, st.User)
					}
				default:
					if v != Rejected || ctx.Response.StatusCode() != fasthttp.StatusUnauthorized {
						t.Fatalf("required: verdict %v status %d, want 401", v, ctx.Response.StatusCode())
					}
					if b := string(ctx.Response.Body()); b != `{"error":"identity_required"}` {
						t.Fatalf("body %s", b)
					}
					ch := string(ctx.Response.Header.Peek(fasthttp.HeaderWWWAuthenticate))
					if tc.cfg.JWT != nil && !strings.HasPrefix(ch, "Bearer ") {
						t.Fatalf("no Bearer challenge: %q", ch)
					}
					if strings.Contains(ch, "invalid_token") != tc.invalid {
						t.Fatalf("challenge %q, invalid=%v", ch, tc.invalid)
					}
				}
			})
		}
	}
}

func TestNewIdentityErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  *config.Identity
		mode string
	}{
		{"nil config", nil, IdentityRequired},
		{"no source", &config.Identity{}, ""},
		{"bad mode", &config.Identity{Header: "X-U"}, "sometimes"},
		{"no jwt key", &config.Identity{Header: "X-U", JWT: &config.JWT{}}, ""},
		{"both jwt keys", &config.Identity{Header: "X-U", JWT: &config.JWT{HS256Secret: testSecret, RS256PublicKey: "x"}}, ""},
		{"bad pem", &config.Identity{Header: "X-U", JWT: &config.JWT{RS256PublicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}}, ""},
		{"missing key file", &config.Identity{Header: "X-U", JWT: &config.JWT{RS256PublicKey: "/nonexistent/key.pem"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewIdentity(tc.cfg, tc.mode); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestIdentityDefaultsApplied(t *testing.T) {
	t.Parallel()
	id, err := NewIdentity(&config.Identity{Cookie: "s", JWT: &config.JWT{HS256Secret: testSecret}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if id.claim != "sub" || id.required {
		t.Fatalf("claim %q required %v", id.claim, id.required)
	}
}

func BenchmarkIdentityHS256(b *testing.B) {
	id, err := NewIdentity(&config.Identity{Header: "Authorization", JWT: &config.JWT{HS256Secret: testSecret}}, IdentityRequired)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte(testSecret))
	if err != nil {
		b.Fatal(err)
	}
	ctx := identityRequest("Authorization", "Bearer "+tok)
	st := AcquireState()
	defer ReleaseState(st)
	b.ReportAllocs()
	for b.Loop() {
		if id.Handle(ctx, st) != Continue {
			b.Fatal("refused")
		}
	}
}

func BenchmarkIdentityHeader(b *testing.B) {
	id, err := NewIdentity(&config.Identity{Header: "X-User-Id"}, IdentityRequired)
	if err != nil {
		b.Fatal(err)
	}
	ctx := identityRequest("X-User-Id", "user-12345")
	st := AcquireState()
	defer ReleaseState(st)
	b.ReportAllocs()
	for b.Loop() {
		if id.Handle(ctx, st) != Continue {
			b.Fatal("refused")
		}
	}
}
