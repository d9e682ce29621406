package main

import (
	"bytes"
	"embed"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"text/template"
)

// The configs of the servers under test and the wrk script, filled in with
// this run's ports and directories.
//
//go:embed templates/*
var templateFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*"))

// ConfigData is what the templates are filled with.
type ConfigData struct {
	// Listen is the address the server under test listens on.
	Listen string
	// Admin is edge's admin address.
	Admin string
	// Origin is the origin's host:port; OriginHost and OriginPort its parts
	// (Varnish wants them apart).
	Origin, OriginHost, OriginPort string
	// Dir is the server's own directory: pid file, logs, cache, temp files.
	Dir string
}

// newConfigData fills ConfigData for a server listening on listen.
func newConfigData(listen, admin, origin, dir string) (ConfigData, error) {
	host, port, err := net.SplitHostPort(origin)
	if err != nil {
		return ConfigData{}, fmt.Errorf("origin address %q: %w", origin, err)
	}
	return ConfigData{Listen: listen, Admin: admin, Origin: origin, OriginHost: host, OriginPort: port, Dir: dir}, nil
}

// render fills the template name with d.
func render(name string, d ConfigData) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, d); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// writeConfig renders the template name into dir/file and returns the
// file's path.
func writeConfig(name, dir, file string, d ConfigData) (string, error) {
	b, err := render(name, d)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
