//go:build !race

package cachehttp

const raceEnabled = false
