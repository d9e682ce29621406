package config

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"300ms", 300 * time.Millisecond, ""},
		{"2s", 2 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{" 1m ", time.Minute, ""},
		{"0", 0, ""},
		{"-1s", 0, `want a duration ≥ 0, got "-1s"`},
		{"30", 0, `want a duration like 300ms, 2s or 1h30m, got "30"`},
		{"2 days", 0, "want a duration"},
		{"", 0, "want a duration"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseDuration(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.D() != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestDurationString(t *testing.T) {
	t.Parallel()
	for in, want := range map[time.Duration]string{
		0: "0s", 90 * time.Minute: "1h30m", 2 * time.Minute: "2m", time.Hour: "1h",
		300 * time.Millisecond: "300ms", time.Hour + time.Second: "1h0m1s",
	} {
		if got := Duration(in).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", in, got, want)
		}
		back, err := ParseDuration(want)
		if err != nil || back.D() != in {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", want, back, err, in)
		}
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Size
		wantErr string
	}{
		{"4096", 4096, ""},
		{"64KiB", 64 << 10, ""},
		{"512MiB", 512 << 20, ""},
		{"512mib", 512 << 20, ""},
		{"2GiB", 2 << 30, ""},
		{"1TiB", 1 << 40, ""},
		{"1GB", 1e9, ""},
		{"64kb", 64e3, ""},
		{"3MB", 3e6, ""},
		{"10B", 10, ""},
		{"1.5KiB", 1536, ""},
		{"512 MiB", 512 << 20, ""},
		{"0", 0, ""},
		{"-1", 0, "want a size like 512MiB, 64KiB, 1GB or 4096"},
		{"12XB", 0, `got "12XB"`},
		{"MiB", 0, "want a size"},
		{"1M", 0, "want a size"},
		{"", 0, "want a size"},
		{"9223372036854775807GiB", 0, "too large"},
		{"99999999999999999999", 0, "want a size"},
		{"1e30GB", 0, "want a size"},
		{"9999999999.9TiB", 0, "too large"},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSize(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestSizeStringRoundTrip(t *testing.T) {
	t.Parallel()
	for in, want := range map[Size]string{
		0: "0", 4096: "4KiB", 512 << 20: "512MiB", 1e9: "1GB", 1000: "1KB", 4097: "4097", 3 << 40: "3TiB",
	} {
		if got := in.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", in, got, want)
		}
		if back, err := ParseSize(want); err != nil || back != in {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", want, back, err, in)
		}
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in        string
		perSecond float64
		str       string
		wantErr   string
	}{
		{"20/s", 20, "20/s", ""},
		{"100/m", 100.0 / 60, "100/m", ""},
		{"5/h", 5.0 / 3600, "5/h", ""},
		{"0.5/s", 0.5, "0.5/s", ""},
		{" 20 / S ", 20, "20/s", ""},
		{"20", 0, "", `want N/s, N/m or N/h, got "20"`},
		{"20/d", 0, "", "want N/s, N/m or N/h"},
		{"0/s", 0, "", "N > 0"},
		{"-1/s", 0, "", "N > 0"},
		{"NaN/s", 0, "", "N > 0"},
		{"Inf/s", 0, "", "N > 0"},
		{"0x10/s", 0, "", "want N/s"},
		{"/s", 0, "", "want N/s"},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRate(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.PerSecond() != tt.perSecond || got.String() != tt.str {
			t.Errorf("ParseRate(%q) = %v (%v/s), %v; want %q (%v/s)", tt.in, got, got.PerSecond(), err, tt.str, tt.perSecond)
		}
	}
	if s := (Rate{N: 3, Per: 2 * time.Second}).String(); s != "1.5/s" {
		t.Errorf("odd period String() = %q, want 1.5/s", s)
	}
	if s := (Rate{}).String(); s != "" {
		t.Errorf("zero Rate String() = %q, want empty", s)
	}
}

func TestParseCIDR(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"10.0.0.0/8", "10.0.0.0/8", false},
		{"10.1.2.3", "10.1.2.3/32", false},
		{"10.1.2.3/8", "10.0.0.0/8", false},
		{"fd00::/8", "fd00::/8", false},
		{"2001:db8::1", "2001:db8::1/128", false},
		{"::ffff:10.0.0.1", "10.0.0.1/32", false},
		{"10.0.0.0/33", "", true},
		{"fe80::1%eth0", "", true},
		{"example.com", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := ParseCIDR(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseCIDR(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got.String() != tt.want {
			t.Errorf("ParseCIDR(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	c, _ := ParseCIDR("10.0.0.0/8")
	if !c.Contains(netip.MustParseAddr("10.9.8.7")) || c.Contains(netip.MustParseAddr("11.0.0.1")) {
		t.Error("CIDR 10.0.0.0/8 containment wrong")
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	got, err := parseTime("2026-12-12T00:00:00+08:00")
	if err != nil || !got.Equal(time.Date(2026, 12, 11, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("parseTime = %v, %v", got, err)
	}
	for _, bad := range []string{"2026-12-12", "2026-12-12 00:00:00", "tomorrow", "2026-12-12T00:00:00"} {
		if _, err := parseTime(bad); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("parseTime(%q) error = %v, want an RFC 3339 hint", bad, err)
		}
	}
}

// The unit types also work with yaml's own decoder and encoder, reporting
// problems as *yaml.TypeError so that decoding continues.
func TestUnitsWithYAMLPackage(t *testing.T) {
	t.Parallel()
	type doc struct {
		D Duration `yaml:"d"`
		S Size     `yaml:"s"`
		R Rate     `yaml:"r"`
		C CIDR     `yaml:"c"`
		Z Rate     `yaml:"z"`
	}
	var got doc
	if err := yaml.Unmarshal([]byte("d: 1h30m\ns: 64KiB\nr: 20/s\nc: 10.1.2.3\n"), &got); err != nil {
		t.Fatal(err)
	}
	if got.D.D() != 90*time.Minute || got.S != 64*KiB || got.R.String() != "20/s" || got.C.String() != "10.1.2.3/32" {
		t.Errorf("decoded %+v", got)
	}
	out, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if want := "d: 1h30m\ns: 64KiB\nr: 20/s\nc: 10.1.2.3/32\nz: null\n"; string(out) != want {
		t.Errorf("marshal = %q, want %q", out, want)
	}

	err = yaml.Unmarshal([]byte("d: soon\ns: lots\nr: 20\nc: [x]\n"), &got)
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) != 4 {
		t.Fatalf("error = %v, want a TypeError with 4 problems", err)
	}
	if !strings.Contains(te.Errors[2], `line 3: want N/s, N/m or N/h, got "20"`) {
		t.Errorf("rate problem = %q", te.Errors[2])
	}
}

// Field kinds the current types do not use yet still decode, so that new
// settings need no decoder change.
func TestDecodeOtherKinds(t *testing.T) {
	t.Parallel()
	var v struct {
		U  uint16            `yaml:"u"`
		D  time.Duration     `yaml:"d"`
		F  float64           `yaml:"f"`
		M  map[string]string `yaml:"m"`
		T  time.Time         `yaml:"t"`
		PS *string           `yaml:"ps"`
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte("u: 65535\nd: 2s\nf: 0.25\nm: {a: b}\nt: 2026-01-02T03:04:05Z\nps: x\n"), &root); err != nil {
		t.Fatal(err)
	}
	d := newDecoder("k.yaml", noEnv)
	d.value(root.Content[0], reflect.ValueOf(&v).Elem(), "", 1)
	if len(d.errs) != 0 || v.U != 65535 || v.D != 2*time.Second || v.F != 0.25 || v.M["a"] != "b" || v.T.Year() != 2026 || *v.PS != "x" {
		t.Errorf("decoded %+v, problems %v", v, d.errs)
	}
	if err := yaml.Unmarshal([]byte("u: 65536\nd: 2\n"), &root); err != nil {
		t.Fatal(err)
	}
	d = newDecoder("k.yaml", noEnv)
	d.value(root.Content[0], reflect.ValueOf(&v).Elem(), "", 1)
	if len(d.errs) != 2 || !strings.Contains(d.errs[0].Msg, "out of range") || !strings.Contains(d.errs[1].Msg, "want a duration") {
		t.Errorf("problems %v", d.errs)
	}
}
