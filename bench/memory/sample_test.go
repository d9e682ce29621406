package main

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
)

// statusSample is the shape of /proc/<pid>/status on Linux 6.x (cut).
const statusSample = `Name:	edge
Umask:	0022
State:	S (sleeping)
Tgid:	4242
Pid:	4242
VmPeak:	 1412260 kB
VmSize:	 1412260 kB
VmLck:	       0 kB
VmHWM:	  170452 kB
VmRSS:	  169380 kB
RssAnon:	  156688 kB
RssFile:	   12692 kB
RssShmem:	       0 kB
VmData:	  213884 kB
Threads:	6
`

func TestParseStatus(t *testing.T) {
	t.Parallel()
	m, err := parseStatus(strings.NewReader(statusSample))
	if err != nil {
		t.Fatal(err)
	}
	want := procMem{RSS: 169380 << 10, Peak: 170452 << 10, RSSAnon: 156688 << 10, RSSFile: 12692 << 10}
	if m != want {
		t.Fatalf("parseStatus = %+v, want %+v", m, want)
	}
}

func TestParseStatusErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		in   string
		want error // nil: any error
	}{
		"no VmRSS (kernel thread)": {in: "Name:\tkthreadd\nState:\tS (sleeping)\n", want: errNoVmRSS},
		"not a number":             {in: "VmRSS:\t  lots kB\n"},
		"unit other than kB":       {in: "VmRSS:\t  1 MB\n"},
		"no unit":                  {in: "VmHWM:\t  1\nVmRSS:\t 1 kB\n"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := parseStatus(strings.NewReader(tc.in))
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// The parser must read what this kernel really writes.
func TestReadProcMemOfThisProcess(t *testing.T) {
	t.Parallel()
	m, err := readProcMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.Peak < m.RSS || m.RSSAnon <= 0 || m.RSSAnon > m.RSS {
		t.Fatalf("implausible memory of this process: %+v", m)
	}
}

// exposition is Prometheus text as client_golang writes it, with the
// corner cases of the format: label values holding spaces, braces, commas
// and escaped quotes, special values, timestamps.
const exposition = `# HELP edge_cache_bytes Bytes charged to the cache (keys, headers, bodies and overhead).
# TYPE edge_cache_bytes gauge
edge_cache_bytes 6.7108e+07
edge_cache_entries 22187
# TYPE edge_cache_requests_total counter
edge_cache_requests_total{result="hit",route="pages"} 0
edge_cache_requests_total{result="miss",route="pages"} 1e+06
edge_cache_requests_total{result="miss",route="other"} 5
weird{path="/a b/{c}",q="say \"hi\", then \\ go"} 7 1700000000000
go_gc_duration_seconds{quantile="1"} +Inf
ratio NaN

up	1
`

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	m, err := parseMetrics(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	for series, want := range map[string]float64{
		"edge_cache_bytes":   6.7108e+07,
		"edge_cache_entries": 22187,
		`edge_cache_requests_total{result="miss",route="pages"}`: 1e6,
		`weird{path="/a b/{c}",q="say \"hi\", then \\ go"}`:      7,
		"up": 1,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if v := m.get(`go_gc_duration_seconds{quantile="1"}`); !math.IsInf(v, 1) {
		t.Errorf("+Inf parsed as %v", v)
	}
	if v := m.get("ratio"); !math.IsNaN(v) {
		t.Errorf("NaN parsed as %v", v)
	}
	if got := m.get("absent"); got != 0 {
		t.Errorf("absent series = %v, want 0", got)
	}
	if len(m) != 9 {
		t.Errorf("%d series parsed, want 9: %v", len(m), m)
	}
}

func TestParseMetricsErrors(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"unterminated labels":  `x{a="b" 1`,
		"unterminated quote":   `x{a="b} 1`,
		"no value":             "x",
		"no value after label": `x{a="b"}`,
		"not a number":         "x one",
		"too many fields":      "x 1 2 3",
		"no name":              `{a="b"} 1`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if m, err := parseMetrics(strings.NewReader("ok 1\n" + in + "\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
				t.Fatalf("parseMetrics(%q) = %v, %v; want an error naming line 2", in, m, err)
			}
		})
	}
}
