package testutil

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// EdgePackage is the import path of the gateway's main package, built by
// BuildEdge.
const EdgePackage = "edge/cmd/edge"

// BuildEdge runs "go build" of the edge command into dir and returns the
// binary's path (dir/edge). It takes no testing.TB so that a TestMain can
// build the binary once for a whole package; a test can pass t.TempDir().
// The error carries the compiler's output.
func BuildEdge(dir string) (string, error) {
	bin := filepath.Join(dir, "edge")
	out, err := exec.Command("go", "build", "-o", bin, EdgePackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building edge: %w\n%s", err, out)
	}
	return bin, nil
}
