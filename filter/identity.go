package filter

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"edge/internal/config"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
)

// Identity modes of a route.
const (
	// IdentityOptional reads the shopper id when there is one.
	IdentityOptional = "optional"
	// IdentityRequired refuses requests without a valid shopper id (401).
	IdentityRequired = "required"
)

// MaxUserIDLen bounds a shopper id in bytes; longer ids count as absent.
const MaxUserIDLen = 128

// Defaults of config.JWT.
const (
	defaultClaim  = "sub"
	defaultLeeway = 30 * time.Second
)

// Identity is the funnel stage "identity": it finds the shopper id in the
// configured header or cookie (the header first when both are set), verifies
// it when it is a JWT, and copies it into State.User. On a route where
// identity is required, a request without a valid id gets 401
// {"error":"identity_required"} (with a Bearer challenge when JWTs are
// expected). On an optional route a missing or invalid id leaves State.User
// empty; later stages then fall back to the client address.
//
// A plain (non-JWT) id is used as sent: put such a header behind a component
// that sets it, and strip it from clients there. Ids must be at most
// MaxUserIDLen bytes without spaces, control characters or braces; others
// count as absent. Tokens are never logged.
type Identity struct {
	header   string
	cookie   string
	required bool
	parser   *jwt.Parser // nil: the value is the id itself
	key      any         // []byte (HS256) or *rsa.PublicKey (RS256)
	claim    string
	log      *slog.Logger
}

var _ Stage = (*Identity)(nil)

// NewIdentity builds the identity stage of a route from the shared identity
// source cfg and the route's mode ("" or "optional", "required"). With
// cfg.JWT the algorithm is pinned to the one configured (HS256 with
// hs256_secret, RS256 with rs256_public_key given as PEM text or as a path to
// a PEM file); tokens signed otherwise, or with "none", are refused. exp and
// nbf are checked when present, with cfg.JWT.Leeway (default 30s); the id is
// read from cfg.JWT.Claim (default "sub"), a string or a number.
func NewIdentity(cfg *config.Identity, mode string) (*Identity, error) {
	switch mode {
	case "", IdentityOptional, IdentityRequired:
	default:
		return nil, fmt.Errorf("identity: mode %q: want optional or required", mode)
	}
	if cfg == nil || (cfg.Header == "" && cfg.Cookie == "") {
		return nil, errors.New("identity: no header or cookie to read the shopper id from")
	}
	id := &Identity{
		header:   cfg.Header,
		cookie:   cfg.Cookie,
		required: mode == IdentityRequired,
		log:      slog.Default(),
	}
	if cfg.JWT == nil {
		return id, nil
	}
	j := cfg.JWT
	var alg string
	switch {
	case j.HS256Secret != "" && j.RS256PublicKey != "":
		return nil, errors.New("identity: jwt: want hs256_secret or rs256_public_key, not both")
	case j.HS256Secret != "":
		alg, id.key = jwt.SigningMethodHS256.Alg(), []byte(j.HS256Secret)
	case j.RS256PublicKey != "":
		key, err := loadRSAPublicKey(j.RS256PublicKey)
		if err != nil {
			return nil, fmt.Errorf("identity: jwt: rs256_public_key: %w", err)
		}
		alg, id.key = jwt.SigningMethodRS256.Alg(), key
	default:
		return nil, errors.New("identity: jwt: want hs256_secret or rs256_public_key")
	}
	leeway := j.Leeway.D()
	if leeway <= 0 {
		leeway = defaultLeeway
	}
	id.claim = j.Claim
	if id.claim == "" {
		id.claim = defaultClaim
	}
	id.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{alg}),
		jwt.WithLeeway(leeway),
		jwt.WithJSONNumber(),
	)
	return id, nil
}

// loadRSAPublicKey reads an RSA public key from PEM text or a PEM file
// (PKIX "PUBLIC KEY", PKCS#1 "RSA PUBLIC KEY" or a certificate).
func loadRSAPublicKey(s string) (*rsa.PublicKey, error) {
	data := []byte(s)
	if !strings.Contains(s, "-----BEGIN") {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("read key file: %w", err)
		}
		data = b
	}
	key, err := jwt.ParseRSAPublicKeyFromPEM(data)
	if err != nil {
		return nil, fmt.Errorf("parse PEM: %w", err)
	}
	return key, nil
}

// Name returns "identity".
func (id *Identity) Name() string { return "identity" }

// Handle copies the shopper id into st.User or, on a required route,
// refuses the request without one.
func (id *Identity) Handle(ctx *fasthttp.RequestCtx, st *State) Verdict {
	st.User = st.User[:0]
	user, invalid := id.User(ctx)
	if len(user) == 0 {
		if !id.required {
			return Continue
		}
		v := Reject(ctx, st, id.Name(), fasthttp.StatusUnauthorized, "identity_required", 0)
		if id.parser != nil {
			challenge := `Bearer realm="edge"`
			if invalid {
				challenge += `, error="invalid_token"`
			}
			ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, challenge)
		}
		return v
	}
	st.User = append(st.User, user...)
	return Continue
}

// User returns the shopper id ctx carries, nil when there is none or it is
// not valid; invalid says a token was sent and refused. The id may alias
// the request. It writes no response, required or not.
func (id *Identity) User(ctx *fasthttp.RequestCtx) (user []byte, invalid bool) {
	raw := id.raw(ctx)
	switch {
	case len(raw) == 0:
	case id.parser == nil:
		user = raw
	default:
		var err error
		user, err = id.verify(raw)
		if err != nil {
			invalid = true
			id.log.LogAttrs(context.Background(), slog.LevelDebug, "identity: token refused",
				slog.String("reason", tokenReason(err)))
		}
	}
	if !validUserID(user) {
		user = nil
	}
	return user, invalid
}

// raw returns the header value or, failing that, the cookie value.
func (id *Identity) raw(ctx *fasthttp.RequestCtx) []byte {
	var v []byte
	if id.header != "" {
		v = ctx.Request.Header.Peek(id.header)
		if id.parser != nil {
			v = trimBearer(v)
		}
	}
	if len(v) == 0 && id.cookie != "" {
		v = ctx.Request.Header.Cookie(id.cookie)
	}
	return bytes.TrimSpace(v)
}

// trimBearer strips an "Authorization: Bearer" scheme from a header value.
func trimBearer(v []byte) []byte {
	const scheme = "bearer "
	if len(v) > len(scheme) && strings.EqualFold(string(v[:len(scheme)]), scheme) {
		return v[len(scheme):]
	}
	return v
}

// verify checks the token and returns the id from the configured claim.
func (id *Identity) verify(token []byte) ([]byte, error) {
	claims := jwt.MapClaims{}
	_, err := id.parser.ParseWithClaims(string(token), claims, func(*jwt.Token) (any, error) {
		// The parser has already pinned the algorithm; the key's type
		// matches it, so a token cannot make an RSA key act as an HMAC
		// secret.
		return id.key, nil
	})
	if err != nil {
		return nil, fmt.Errorf("identity: verify token: %w", err)
	}
	switch v := claims[id.claim].(type) {
	case string:
		return []byte(v), nil
	case json.Number:
		return []byte(v.String()), nil
	case nil:
		return nil, fmt.Errorf("identity: claim %q missing", id.claim)
	default:
		return nil, fmt.Errorf("identity: claim %q is a %T, want a string or number", id.claim, v)
	}
}

// tokenReason names why a token was refused, without any of its content.
func tokenReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not_yet_valid"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad_signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	}
	return "invalid"
}

// validUserID reports whether b is an acceptable shopper id.
func validUserID(b []byte) bool {
	if len(b) == 0 || len(b) > MaxUserIDLen {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c == 0x7f || c == '{' || c == '}' {
			return false
		}
	}
	return true
}
