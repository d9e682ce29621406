//go:build race

package esi

// raceEnabled reports a -race build, where allocation counts differ.
const raceEnabled = true
