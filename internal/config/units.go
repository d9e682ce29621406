package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// This file holds the scalar types of the configuration: how they are
// written in YAML, parsed and printed back. Each type implements
// encoding.TextUnmarshaler/TextMarshaler (used by the strict decoder and by
// JSON) and yaml.Unmarshaler/Marshaler (for code decoding them with yaml
// directly); a yaml.Unmarshaler error is a *yaml.TypeError so that a yaml
// decoder keeps going and reports every problem.

// ParseDuration parses a non-negative Go duration: "300ms", "2s", "1h30m".
// "0" is accepted; a bare number with no unit is not.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("want a duration like 300ms, 2s or 1h30m, got %q", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("want a duration ≥ 0, got %q", s)
	}
	return Duration(d), nil
}

// String prints the duration the way it is written in YAML ("1h30m", "2s").
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText implements encoding.TextMarshaler with String.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalYAML implements yaml.Unmarshaler for a scalar duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error { return unmarshalScalar(n, d) }

// MarshalYAML implements yaml.Marshaler with String.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Size units: KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB powers of 1024.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
)

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseSize parses a byte count: "4096", "64KiB", "512MiB", "1GB", "1.5GiB".
// Units are case-insensitive; KB, MB, GB and TB are 1000-based, KiB, MiB,
// GiB and TiB 1024-based; a fraction of a byte is dropped.
func ParseSize(s string) (Size, error) {
	bad := fmt.Errorf("want a size like 512MiB, 64KiB, 1GB or 4096, got %q", s)
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, bad
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, bad
		}
		if m := int64(mult); n > math.MaxInt64/m {
			return 0, fmt.Errorf("size %q is too large", s)
		}
		return Size(n * int64(mult)), nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, bad
	}
	f *= mult
	if f >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Size(f), nil
}

// String prints the size with the largest unit that divides it exactly
// ("512MiB", "1GB", "4097"), so that it parses back to the same value.
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	for _, u := range []struct {
		n    Size
		name string
	}{{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}, {1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "KB"}} {
		if s%u.n == 0 {
			return strconv.FormatInt(int64(s/u.n), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// Bytes returns the size as an int64 byte count.
func (s Size) Bytes() int64 { return int64(s) }

// UnmarshalText implements encoding.TextUnmarshaler with ParseSize.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText implements encoding.TextMarshaler with String.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalYAML implements yaml.Unmarshaler for a scalar size.
func (s *Size) UnmarshalYAML(n *yaml.Node) error { return unmarshalScalar(n, s) }

// MarshalYAML implements yaml.Marshaler with String.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// ParseRate parses "N/s", "N/m" or "N/h" (N > 0, fractions allowed:
// "0.5/s"). The unit letter is case-insensitive.
func ParseRate(s string) (Rate, error) {
	bad := fmt.Errorf("want N/s, N/m or N/h, got %q", s)
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, bad
	}
	var per time.Duration
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		return Rate{}, bad
	}
	num = strings.TrimSpace(num)
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || strings.ContainsAny(num, "xXpP_") {
		return Rate{}, bad
	}
	if !(n > 0) || math.IsInf(n, 0) {
		return Rate{}, fmt.Errorf("want N/s, N/m or N/h with N > 0, got %q", s)
	}
	return Rate{N: n, Per: per}, nil
}

// IsZero reports whether the rate is unset.
func (r Rate) IsZero() bool { return r.N == 0 && r.Per == 0 }

// String prints the rate as written in YAML ("20/s", "100/m"); a period
// other than a second, minute or hour is converted to events per second.
// The zero Rate prints as "".
func (r Rate) String() string {
	if r.IsZero() {
		return ""
	}
	var unit string
	switch r.Per {
	case time.Second:
		unit = "s"
	case time.Minute:
		unit = "m"
	case time.Hour:
		unit = "h"
	default:
		return strconv.FormatFloat(r.PerSecond(), 'f', -1, 64) + "/s"
	}
	return strconv.FormatFloat(r.N, 'f', -1, 64) + "/" + unit
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseRate.
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalText implements encoding.TextMarshaler with String.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalYAML implements yaml.Unmarshaler for a scalar rate.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error { return unmarshalScalar(n, r) }

// MarshalYAML implements yaml.Marshaler: the zero Rate is null, others
// their String.
func (r Rate) MarshalYAML() (any, error) {
	if r.IsZero() {
		return nil, nil
	}
	return r.String(), nil
}

// ParseCIDR parses a network prefix ("10.0.0.0/8", "fd00::/8") or a bare
// address, which means that single host (/32 or /128). The result is
// masked: "10.1.2.3/8" becomes 10.0.0.0/8. IPv4-mapped IPv6 addresses are
// unmapped; zones are refused.
func ParseCIDR(s string) (CIDR, error) {
	bad := fmt.Errorf("want an address or CIDR like 10.0.0.0/8, got %q", s)
	t := strings.TrimSpace(s)
	if strings.Contains(t, "/") {
		p, err := netip.ParsePrefix(t)
		if err != nil {
			return CIDR{}, bad
		}
		return CIDR{p.Masked()}, nil
	}
	a, err := netip.ParseAddr(t)
	if err != nil || a.Zone() != "" {
		return CIDR{}, bad
	}
	a = a.Unmap()
	return CIDR{netip.PrefixFrom(a, a.BitLen())}, nil
}

// String prints the prefix ("10.0.0.0/8"); the zero CIDR prints as "".
func (c CIDR) String() string {
	if !c.IsValid() {
		return ""
	}
	return c.Prefix.String()
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseCIDR.
func (c *CIDR) UnmarshalText(b []byte) error {
	v, err := ParseCIDR(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// MarshalText implements encoding.TextMarshaler with String.
func (c CIDR) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalYAML implements yaml.Unmarshaler for a scalar CIDR.
func (c *CIDR) UnmarshalYAML(n *yaml.Node) error { return unmarshalScalar(n, c) }

// MarshalYAML implements yaml.Marshaler: the zero CIDR is null.
func (c CIDR) MarshalYAML() (any, error) {
	if !c.IsValid() {
		return nil, nil
	}
	return c.String(), nil
}

// textUnmarshaler is encoding.TextUnmarshaler, named here to keep the
// import list short.
type textUnmarshaler interface{ UnmarshalText([]byte) error }

// unmarshalScalar decodes a yaml scalar node with u.UnmarshalText. Problems
// come back as *yaml.TypeError so that a yaml decoder collects them and
// goes on.
func unmarshalScalar(n *yaml.Node, u textUnmarshaler) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a scalar, got %s", n.Line, describe(n))}}
	}
	if n.ShortTag() == "!!null" {
		return nil
	}
	if err := u.UnmarshalText([]byte(n.Value)); err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	return nil
}

// parseTime parses an RFC 3339 timestamp with a zone, as sales use.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, errors.New("want an RFC 3339 time like 2026-12-12T00:00:00+08:00, got " + strconv.Quote(s))
	}
	return t, nil
}
