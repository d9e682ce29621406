//go:build race

package cachehttp

const raceEnabled = true
