// Package testutil holds the small helpers the test suites of the gateway
// share: free loopback addresses, bounded waits on states reached through
// real I/O, a log sink safe for concurrent writers, loopback origin
// servers and a build of the edge binary for process-level tests.
//
// It is imported only from _test.go files and depends on nothing but the
// standard library and fasthttp.
package testutil
