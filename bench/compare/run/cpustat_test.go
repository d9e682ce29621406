package main

import (
	"testing"
	"time"
)

func TestParseCPUTimes(t *testing.T) {
	t.Parallel()
	stat := "cpu  300 0 100 500 10 0 20 5 0 0\n" +
		"cpu0 100 0 50 200 5 0 10 3 0 0\n" +
		"cpu1 200 0 50 300 5 0 10 2 0 0\n" +
		"intr 12345\nctxt 999\n"
	got, err := parseCPUTimes(stat)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]cpuTimes{
		0: {busy: 163 * clockTick, total: 368 * clockTick},
		1: {busy: 262 * clockTick, total: 567 * clockTick},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"intr 1\n", "cpuX 1 2 3 4 5 6 7 8\n", "cpu0 1 2 3 4 5 6 7 x\n"} {
		if _, err := parseCPUTimes(bad); err == nil {
			t.Errorf("parseCPUTimes(%q): want an error", bad)
		}
	}
}

func TestNoise(t *testing.T) {
	t.Parallel()
	s := time.Second
	before := map[int]cpuTimes{0: {0, 0}, 1: {0, 0}, 2: {0, 0}}
	after := map[int]cpuTimes{0: {s, s}, 1: {s / 2, s}, 2: {s, s}}
	tests := []struct {
		ours time.Duration
		want float64
	}{
		{1500 * time.Millisecond, 0}, // all the busy time was ours
		{time.Second, 0.25},          // half a CPU-second of others over two
		{2 * time.Second, 0},         // never negative
		{0, 0.75},
	}
	for _, tt := range tests {
		if got := noise(before, after, []int{0, 1}, tt.ours); got != tt.want {
			t.Errorf("noise(ours %v) = %v, want %v", tt.ours, got, tt.want)
		}
	}
	if got := noise(before, before, []int{0}, 0); got != 0 {
		t.Errorf("noise over no time = %v, want 0", got)
	}
}
